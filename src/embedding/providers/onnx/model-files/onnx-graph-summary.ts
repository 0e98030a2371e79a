import { FileHandle, open } from 'node:fs/promises';

/** What a model's ONNX file is made of: its operators and how many weight values it holds of each element type. */
export interface OnnxGraphSummary {
  opTypes: Set<string>;
  /** Nodes of each operator type. */
  opCounts: Map<string, number>;
  /** Elements of the graph's initializers by ONNX element type (TensorProto.DataType), external data included. */
  weightElements: Map<number, number>;
}

/** The element types (onnx.proto TensorProto.DataType) that tell a model's precision. */
export const ONNX_ELEMENT = { float: 1, uint8: 2, int8: 3, float16: 10, bfloat16: 16 } as const;

// Field numbers from onnx/onnx.proto.
const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const NODE_OP_TYPE = 4;
const TENSOR_DIMS = 1;
const TENSOR_DATA_TYPE = 2;

const WINDOW_BYTES = 64 * 1024;

/**
 * Reads the graph's node types and its initializers' types and shapes, skipping over the weight bytes: a model of
 * gigabytes costs a few hundred small reads, never its size in memory.
 */
export async function summarizeOnnxGraph(path: string): Promise<OnnxGraphSummary> {
  const file = await ProtoFile.open(path);
  try {
    const summary: OnnxGraphSummary = { opTypes: new Set(), opCounts: new Map(), weightElements: new Map() };
    for await (const graph of file.fields(0, file.size)) {
      if (graph.field !== MODEL_GRAPH || graph.end === undefined) continue;
      for await (const entry of file.fields(graph.start, graph.end)) {
        if (entry.end === undefined) continue;
        if (entry.field === GRAPH_NODE) {
          const opType = await opTypeOf(file, entry.start, entry.end);
          summary.opTypes.add(opType);
          summary.opCounts.set(opType, (summary.opCounts.get(opType) ?? 0) + 1);
        }
        if (entry.field === GRAPH_INITIALIZER) await countWeights(file, entry.start, entry.end, summary.weightElements);
      }
    }
    return summary;
  } finally {
    await file.close();
  }
}

async function opTypeOf(file: ProtoFile, start: number, end: number): Promise<string> {
  for await (const field of file.fields(start, end)) {
    if (field.field === NODE_OP_TYPE && field.end !== undefined) {
      return (await file.bytes(field.start, field.end - field.start)).toString('utf8');
    }
  }
  return '';
}

async function countWeights(file: ProtoFile, start: number, end: number, counts: Map<number, number>): Promise<void> {
  let elements = 1;
  let dataType = 0;
  for await (const field of file.fields(start, end)) {
    if (field.field === TENSOR_DIMS) {
      // Packed (length-delimited) or one varint per dimension: both encodings are valid protobuf.
      const dims = field.end === undefined ? [field.value] : await file.varints(field.start, field.end);
      elements *= dims.reduce((product, dim) => product * dim, 1);
    }
    if (field.field === TENSOR_DATA_TYPE && field.end === undefined) dataType = field.value;
  }
  counts.set(dataType, (counts.get(dataType) ?? 0) + elements);
}

/** A varint field carries `value`; a length-delimited one spans [start, end). Fixed-width fields are skipped. */
type ProtoField = { field: number; start: number; value: number; end?: number };

/** Random access to a protobuf file through one small window of bytes. */
class ProtoFile {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  private constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<ProtoFile> {
    const handle = await open(path, 'r');
    try {
      return new ProtoFile(handle, (await handle.stat()).size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  async *fields(start: number, end: number): AsyncGenerator<ProtoField> {
    let position = start;
    while (position < end) {
      const [key, afterKey] = await this.varint(position);
      const [field, wireType] = [Math.floor(key / 8), key % 8];
      if (wireType === 0) {
        const [value, next] = await this.varint(afterKey);
        yield { field, start: afterKey, value };
        position = next;
      } else if (wireType === 2) {
        const [length, valueStart] = await this.varint(afterKey);
        yield { field, start: valueStart, value: length, end: valueStart + length };
        position = valueStart + length;
      } else if (wireType === 1 || wireType === 5) {
        position = afterKey + (wireType === 1 ? 8 : 4);
      } else {
        throw new Error(`not an ONNX model: protobuf wire type ${wireType} at byte ${position}`);
      }
    }
  }

  async varints(start: number, end: number): Promise<number[]> {
    const values: number[] = [];
    for (let position = start; position < end;) {
      const [value, next] = await this.varint(position);
      values.push(value);
      position = next;
    }
    return values;
  }

  /** A varint and the position after it; values above 2^53 lose precision, which no count here reaches. */
  private async varint(position: number): Promise<[number, number]> {
    let value = 0;
    for (let shift = 0, at = position; shift < 70; shift += 7, at++) {
      const byte = (await this.bytes(at, 1))[0];
      if (byte === undefined) throw new Error(`not an ONNX model: truncated at byte ${at}`);
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return [value, at + 1];
    }
    throw new Error(`not an ONNX model: varint too long at byte ${position}`);
  }

  async bytes(position: number, length: number): Promise<Buffer> {
    const offset = position - this.windowStart;
    if (offset < 0 || offset + length > this.window.length) {
      const buffer = Buffer.alloc(Math.max(length, WINDOW_BYTES));
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, position);
      [this.window, this.windowStart] = [buffer.subarray(0, bytesRead), position];
      return this.window.subarray(0, length);
    }
    return this.window.subarray(offset, offset + length);
  }
}
