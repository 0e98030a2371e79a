import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureModel } from '../../../../test/fixtures/model/make-model';
import { ProtoMessage } from '../../../../test/fixtures/model/protobuf-writer';
import { modelDtype } from './model-dtype';
import { ONNX_ELEMENT, summarizeOnnxGraph } from './model-files/onnx-graph-summary';

describe('the dtype a model reports, read from its ONNX graph', () => {
  let workDir: string;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'model-dtype-'));
  });
  afterAll(() => rm(workDir, { recursive: true, force: true }));

  it.each([
    ['onnx/model.onnx', 'float32'],
    ['onnx/model_fp16.onnx', 'float16'],
    ['onnx/model_quantized.onnx', 'int8'],
    ['onnx/model_uint8.onnx', 'uint8'],
  ])('%s is %s', async (file, dtype) => {
    expect(modelDtype(await summarizeOnnxGraph(join(await ensureModel('tiny'), file)))).toBe(dtype);
  });

  it('reads dims written one varint each (proto2, as the onnx package writes them) and skips raw weight bytes', async () => {
    // A graph with one node and two initializers whose 200 kB of raw data the reader must step over.
    const tensor = (name: string, type: number, dims: number[], bytes: number) => {
      const message = new ProtoMessage();
      dims.forEach((dim) => message.int(1, dim));
      return message.int(2, type).string(8, name).bytes(9, new Uint8Array(bytes));
    };
    const node = new ProtoMessage().string(1, 'x').string(2, 'y').string(4, 'MatMulNBits');
    const graph = new ProtoMessage()
      .message(5, tensor('a', ONNX_ELEMENT.bfloat16, [100, 1000], 200_000))
      .message(1, node)
      .message(5, tensor('b', ONNX_ELEMENT.uint8, [3, 5], 15));
    const path = join(workDir, 'proto2.onnx');
    await writeFile(path, new ProtoMessage().int(1, 8).message(7, graph).toBuffer());
    const summary = await summarizeOnnxGraph(path);
    expect(summary.opTypes).toEqual(new Set(['MatMulNBits']));
    expect(summary.opCounts).toEqual(new Map([['MatMulNBits', 1]]));
    expect(summary.weightElements).toEqual(
      new Map([
        [ONNX_ELEMENT.bfloat16, 100_000],
        [ONNX_ELEMENT.uint8, 15],
      ]),
    );
  });

  it.each([
    [['MatMulNBits'], { [ONNX_ELEMENT.uint8]: 100, [ONNX_ELEMENT.float]: 900 }, 'int4'],
    [['MatMul'], { [ONNX_ELEMENT.bfloat16]: 900, [ONNX_ELEMENT.float]: 100 }, 'bfloat16'],
    [['MatMul', 'Gather'], { [ONNX_ELEMENT.uint8]: 900, [ONNX_ELEMENT.float]: 100 }, 'float32'],
    [['DequantizeLinear', 'MatMul'], { [ONNX_ELEMENT.int8]: 900, [ONNX_ELEMENT.float]: 100 }, 'int8'],
  ])('ops %j with weights %j: %s', (ops, elements, dtype) => {
    const weightElements = new Map(Object.entries(elements).map(([type, n]) => [Number(type), n]));
    const opCounts = new Map(ops.map((op) => [op, 1]));
    expect(modelDtype({ opTypes: new Set(ops), opCounts, weightElements })).toBe(dtype);
  });

  it('refuses a file that is not protobuf, saying so', async () => {
    const path = join(workDir, 'not-onnx.onnx');
    await writeFile(path, Buffer.from('{"this": "is json"}'));
    await expect(summarizeOnnxGraph(path)).rejects.toThrow(/not an ONNX model/);
  });
});
