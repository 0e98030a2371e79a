import { ProtoMessage } from './protobuf-writer';

/** Field numbers and enums below come from onnx/onnx.proto (IR version 8). */
export enum OnnxDataType {
  Float = 1,
  Int64 = 7,
}

export type OnnxAttributeValue = number | number[] | { float: number };

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes?: Record<string, OnnxAttributeValue>;
}

export interface OnnxTensor {
  name: string;
  dataType: OnnxDataType;
  dims: number[];
  /** Little-endian element bytes, written as TensorProto.raw_data. */
  data: Uint8Array;
}

export interface OnnxValueInfo {
  name: string;
  elemType: OnnxDataType;
  /** A number is a fixed size, a string a symbolic (dynamic) dimension. */
  shape: Array<number | string>;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  graph: OnnxGraph;
}

const enum AttributeType {
  Float = 1,
  Int = 2,
  Ints = 7,
}

export function encodeOnnxModel(model: OnnxModel): Buffer {
  const opset = new ProtoMessage().string(1, '').int(2, model.opsetVersion);
  return new ProtoMessage()
    .int(1, model.irVersion)
    .string(2, model.producerName)
    .message(7, encodeGraph(model.graph))
    .message(8, opset)
    .toBuffer();
}

function encodeGraph(graph: OnnxGraph): ProtoMessage {
  const message = new ProtoMessage();
  graph.nodes.forEach((node) => message.message(1, encodeNode(node)));
  message.string(2, graph.name);
  graph.initializers.forEach((tensor) => message.message(5, encodeTensor(tensor)));
  graph.inputs.forEach((input) => message.message(11, encodeValueInfo(input)));
  graph.outputs.forEach((output) => message.message(12, encodeValueInfo(output)));
  return message;
}

function encodeNode(node: OnnxNode): ProtoMessage {
  const message = new ProtoMessage();
  node.inputs.forEach((input) => message.string(1, input));
  node.outputs.forEach((output) => message.string(2, output));
  message.string(3, node.name).string(4, node.opType);
  for (const [name, value] of Object.entries(node.attributes ?? {})) {
    message.message(5, encodeAttribute(name, value));
  }
  return message;
}

function encodeAttribute(name: string, value: OnnxAttributeValue): ProtoMessage {
  const message = new ProtoMessage().string(1, name);
  if (Array.isArray(value)) {
    return message.packedInts(8, value).int(20, AttributeType.Ints);
  }
  if (typeof value === 'object') {
    return message.float(2, value.float).int(20, AttributeType.Float);
  }
  return message.int(3, value).int(20, AttributeType.Int);
}

function encodeTensor(tensor: OnnxTensor): ProtoMessage {
  return new ProtoMessage()
    .packedInts(1, tensor.dims)
    .int(2, tensor.dataType)
    .string(8, tensor.name)
    .bytes(9, tensor.data);
}

function encodeValueInfo(info: OnnxValueInfo): ProtoMessage {
  const shape = new ProtoMessage();
  for (const dim of info.shape) {
    const dimension = typeof dim === 'number' ? new ProtoMessage().int(1, dim) : new ProtoMessage().string(2, dim);
    shape.message(1, dimension);
  }
  const tensorType = new ProtoMessage().int(1, info.elemType).message(2, shape);
  const type = new ProtoMessage().message(1, tensorType);
  return new ProtoMessage().string(1, info.name).message(2, type);
}
