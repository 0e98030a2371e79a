import { ONNX_ELEMENT, OnnxGraphSummary } from './model-files/onnx-graph-summary';

/** The precision a model computes in, as its ONNX graph shows it. */
export type OnnxModelDtype = 'float32' | 'float16' | 'bfloat16' | 'int8' | 'uint8' | 'int4';

/**
 * Operators that only quantised graphs hold: onnxruntime's dynamic quantisation (QOperator: DynamicQuantizeLinear,
 * MatMulInteger; QDQ: QuantizeLinear/DequantizeLinear around float ops), static quantisation's QLinear ops, and the
 * contrib ops its optimiser fuses them into.
 */
const INTEGER_OPS = new Set([
  'DynamicQuantizeLinear',
  'MatMulInteger',
  'DynamicQuantizeMatMul',
  'MatMulIntegerToFloat',
  'QuantizeLinear',
  'DequantizeLinear',
  'QLinearMatMul',
  'QGemm',
  'QAttention',
  'QEmbedLayerNormalization',
  'ConvInteger',
  'QLinearConv',
]);
/** Block-wise 4-bit weights (the hub's model_q4.onnx, model_q4f16.onnx, model_bnb4.onnx). */
const FOUR_BIT_OPS = new Set(['MatMulNBits', 'MatMulBnb4', 'GatherBlockQuantized']);

/**
 * A quantised graph reports the type most of its integer weights have (int8 or uint8); any other the float type
 * most of its weights have. Weights, not inputs or outputs: an fp16 export usually keeps float32 inputs and outputs.
 */
export function modelDtype({ opTypes, weightElements }: OnnxGraphSummary): OnnxModelDtype {
  const has = (ops: Set<string>) => [...opTypes].some((op) => ops.has(op));
  const count = (type: number) => weightElements.get(type) ?? 0;
  if (has(FOUR_BIT_OPS)) return 'int4';
  if (has(INTEGER_OPS) && count(ONNX_ELEMENT.int8) + count(ONNX_ELEMENT.uint8) > 0) {
    return count(ONNX_ELEMENT.int8) >= count(ONNX_ELEMENT.uint8) ? 'int8' : 'uint8';
  }
  const floats: Array<[OnnxModelDtype, number]> = [
    ['float32', count(ONNX_ELEMENT.float)],
    ['float16', count(ONNX_ELEMENT.float16)],
    ['bfloat16', count(ONNX_ELEMENT.bfloat16)],
  ];
  return floats.reduce((most, candidate) => (candidate[1] > most[1] ? candidate : most))[0];
}
