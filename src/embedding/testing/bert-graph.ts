import { OnnxGraphBuilder } from './onnx-graph-builder';
import { OnnxDataType, OnnxGraph } from './onnx-proto';
import { SeededRandom } from './seeded-random';

export interface BertShape {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
  /** Standard deviation of the pseudo-random weights. */
  initStd: number;
}

/** The value Hugging Face adds to masked attention scores: the most negative float32. */
const MASKED_SCORE = -3.4028234663852886e38;
const DYNAMIC_2D = ['batch_size', 'sequence_length'];

interface BertContext {
  graph: OnnxGraphBuilder;
  shape: BertShape;
  random: SeededRandom;
}

/** A BERT encoder (as exported by optimum for feature extraction) with seeded pseudo-random weights. */
export function buildBertGraph(shape: BertShape, random: SeededRandom): OnnxGraph {
  const context: BertContext = { graph: new OnnxGraphBuilder('bert'), shape, random };
  const { graph } = context;
  const inputIds = graph.input('input_ids', OnnxDataType.Int64, DYNAMIC_2D);
  const attentionMask = graph.input('attention_mask', OnnxDataType.Int64, DYNAMIC_2D);
  const tokenTypeIds = graph.input('token_type_ids', OnnxDataType.Int64, DYNAMIC_2D);

  const scoreBias = attentionScoreBias(graph, attentionMask);
  let hidden = embeddings(context, inputIds, tokenTypeIds);
  for (let layer = 0; layer < shape.numLayers; layer++) {
    hidden = encoderLayer(context, `encoder.layer.${layer}`, hidden, scoreBias);
  }
  graph.node('Identity', [hidden], 'last_hidden_state');
  graph.output('last_hidden_state', OnnxDataType.Float, [...DYNAMIC_2D, shape.hiddenSize]);
  return graph.build();
}

/** (1 - mask) * most-negative, shaped [batch, 1, 1, seq] so it broadcasts over heads and query positions. */
function attentionScoreBias(graph: OnnxGraphBuilder, attentionMask: string): string {
  const mask = graph.node('Cast', [attentionMask], 'extended_mask.float', { to: OnnxDataType.Float });
  const axes = graph.int64s('extended_mask.axes', [1, 2]);
  const extended = graph.node('Unsqueeze', [mask, axes], 'extended_mask.unsqueezed');
  const inverted = graph.node('Sub', [graph.scalar(1), extended], 'extended_mask.inverted');
  return graph.node('Mul', [inverted, graph.scalar(MASKED_SCORE)], 'extended_mask.bias');
}

function embeddings(context: BertContext, inputIds: string, tokenTypeIds: string): string {
  const { graph, shape } = context;
  const words = weight(context, 'embeddings.word_embeddings.weight', [shape.vocabSize, shape.hiddenSize]);
  const positions = weight(context, 'embeddings.position_embeddings.weight', [shape.maxPositions, shape.hiddenSize]);
  const types = weight(context, 'embeddings.token_type_embeddings.weight', [shape.typeVocabSize, shape.hiddenSize]);

  const wordVectors = graph.node('Gather', [words, inputIds], 'embeddings.words');
  const typeVectors = graph.node('Gather', [types, tokenTypeIds], 'embeddings.types');
  const positionVectors = firstPositions(graph, positions, inputIds);
  const withTypes = graph.node('Add', [wordVectors, typeVectors], 'embeddings.words_types');
  const summed = graph.node('Add', [withTypes, positionVectors], 'embeddings.sum');
  return layerNorm(context, 'embeddings.LayerNorm', summed);
}

/** Rows 0..seq-1 of the position table: positions are implicit, as in BERT's default position_ids. */
function firstPositions(graph: OnnxGraphBuilder, positions: string, inputIds: string): string {
  const inputShape = graph.node('Shape', [inputIds], 'embeddings.input_shape');
  const one = graph.int64s('embeddings.one', [1]);
  const two = graph.int64s('embeddings.two', [2]);
  const zero = graph.int64s('embeddings.zero', [0]);
  const sequenceLength = graph.node('Slice', [inputShape, one, two], 'embeddings.sequence_length');
  return graph.node('Slice', [positions, zero, sequenceLength, zero], 'embeddings.positions');
}

function encoderLayer(context: BertContext, prefix: string, hidden: string, scoreBias: string): string {
  const { graph, shape } = context;
  const attention = selfAttention(context, `${prefix}.attention`, hidden, scoreBias);
  const projected = linear(context, `${prefix}.attention.output.dense`, attention, shape.hiddenSize, shape.hiddenSize);
  const attentionResidual = graph.node('Add', [projected, hidden], `${prefix}.attention.residual`);
  const attended = layerNorm(context, `${prefix}.attention.output.LayerNorm`, attentionResidual);

  const widened = linear(context, `${prefix}.intermediate.dense`, attended, shape.hiddenSize, shape.intermediateSize);
  const activated = gelu(graph, `${prefix}.intermediate`, widened);
  const narrowed = linear(context, `${prefix}.output.dense`, activated, shape.intermediateSize, shape.hiddenSize);
  const outputResidual = graph.node('Add', [narrowed, attended], `${prefix}.output.residual`);
  return layerNorm(context, `${prefix}.output.LayerNorm`, outputResidual);
}

function selfAttention(context: BertContext, prefix: string, hidden: string, scoreBias: string): string {
  const { graph, shape } = context;
  const headSize = shape.hiddenSize / shape.numHeads;
  const query = splitHeads(context, `${prefix}.self.query`, hidden, [0, 2, 1, 3]);
  const keyTransposed = splitHeads(context, `${prefix}.self.key`, hidden, [0, 2, 3, 1]);
  const value = splitHeads(context, `${prefix}.self.value`, hidden, [0, 2, 1, 3]);

  const rawScores = graph.node('MatMul', [query, keyTransposed], `${prefix}.scores.raw`);
  const scaled = graph.node('Div', [rawScores, graph.scalar(Math.sqrt(headSize))], `${prefix}.scores.scaled`);
  const masked = graph.node('Add', [scaled, scoreBias], `${prefix}.scores.masked`);
  const probabilities = graph.node('Softmax', [masked], `${prefix}.probabilities`, { axis: -1 });
  const context4d = graph.node('MatMul', [probabilities, value], `${prefix}.context.heads`);
  const merged = graph.node('Transpose', [context4d], `${prefix}.context.transposed`, { perm: [0, 2, 1, 3] });
  const mergedShape = graph.int64s(`${prefix}.context.shape`, [0, 0, shape.hiddenSize]);
  return graph.node('Reshape', [merged, mergedShape], `${prefix}.context`);
}

/** Projects to [batch, seq, heads, headSize] and transposes to the layout the attention MatMuls need. */
function splitHeads(context: BertContext, prefix: string, hidden: string, perm: number[]): string {
  const { graph, shape } = context;
  const projected = linear(context, prefix, hidden, shape.hiddenSize, shape.hiddenSize);
  const headShape = graph.int64s(`${prefix}.heads_shape`, [0, 0, shape.numHeads, shape.hiddenSize / shape.numHeads]);
  const heads = graph.node('Reshape', [projected, headShape], `${prefix}.heads`);
  return graph.node('Transpose', [heads], `${prefix}.heads.transposed`, { perm });
}

function linear(context: BertContext, prefix: string, input: string, inSize: number, outSize: number): string {
  const { graph } = context;
  const kernel = weight(context, `${prefix}.weight`, [inSize, outSize]);
  const bias = weight(context, `${prefix}.bias`, [outSize]);
  const product = graph.node('MatMul', [input, kernel], `${prefix}.matmul`);
  return graph.node('Add', [product, bias], `${prefix}.out`);
}

/** Exact GELU, 0.5 * x * (1 + erf(x / sqrt(2))), as BERT's hidden_act "gelu". */
function gelu(graph: OnnxGraphBuilder, prefix: string, input: string): string {
  const scaled = graph.node('Div', [input, graph.scalar(Math.SQRT2)], `${prefix}.gelu.scaled`);
  const erf = graph.node('Erf', [scaled], `${prefix}.gelu.erf`);
  const shifted = graph.node('Add', [erf, graph.scalar(1)], `${prefix}.gelu.shifted`);
  const gated = graph.node('Mul', [input, shifted], `${prefix}.gelu.gated`);
  return graph.node('Mul', [gated, graph.scalar(0.5)], `${prefix}.gelu`);
}

function layerNorm(context: BertContext, prefix: string, input: string): string {
  const { graph, shape, random } = context;
  const gamma = graph.floats(
    `${prefix}.weight`,
    [shape.hiddenSize],
    random.normals(shape.hiddenSize, 1, shape.initStd),
  );
  const beta = graph.floats(`${prefix}.bias`, [shape.hiddenSize], random.normals(shape.hiddenSize, 0, shape.initStd));
  const attributes = { axis: -1, epsilon: { float: shape.layerNormEps } };
  return graph.node('LayerNormalization', [input, gamma, beta], `${prefix}.out`, attributes);
}

function weight(context: BertContext, name: string, dims: number[]): string {
  const count = dims.reduce((product, dim) => product * dim, 1);
  return context.graph.floats(name, dims, context.random.normals(count, 0, context.shape.initStd));
}
