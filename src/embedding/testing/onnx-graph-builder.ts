import { OnnxAttributeValue, OnnxDataType, OnnxGraph, OnnxNode, OnnxTensor, OnnxValueInfo } from './onnx-proto';

/** Builds an ONNX graph node by node; every node gets a unique, readable output name. */
export class OnnxGraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: OnnxTensor[] = [];
  private readonly inputs: OnnxValueInfo[] = [];
  private readonly outputs: OnnxValueInfo[] = [];
  private readonly scalars = new Map<number, string>();

  constructor(private readonly name: string) {}

  input(name: string, elemType: OnnxDataType, shape: Array<number | string>): string {
    this.inputs.push({ name, elemType, shape });
    return name;
  }

  output(name: string, elemType: OnnxDataType, shape: Array<number | string>): void {
    this.outputs.push({ name, elemType, shape });
  }

  floats(name: string, dims: number[], values: Float32Array): string {
    const data = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    this.initializers.push({ name, dataType: OnnxDataType.Float, dims, data });
    return name;
  }

  int64s(name: string, values: number[]): string {
    const data = new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer);
    this.initializers.push({ name, dataType: OnnxDataType.Int64, dims: [values.length], data });
    return name;
  }

  /** A float32 scalar shared by every node that needs the same value. */
  scalar(value: number): string {
    const existing = this.scalars.get(value);
    if (existing) {
      return existing;
    }
    const name = `const_${this.scalars.size}`;
    this.floats(name, [], Float32Array.of(value));
    this.scalars.set(value, name);
    return name;
  }

  node(opType: string, inputs: string[], output: string, attributes?: Record<string, OnnxAttributeValue>): string {
    this.nodes.push({ opType, inputs, outputs: [output], name: `${output}/${opType}`, attributes });
    return output;
  }

  build(): OnnxGraph {
    const { name, nodes, initializers, inputs, outputs } = this;
    return { name, nodes, initializers, inputs, outputs };
  }
}
