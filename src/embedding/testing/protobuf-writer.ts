/**
 * A minimal protocol buffers encoder, enough to write ONNX models without a protobuf dependency.
 * Parts are collected, not copied, so nesting a 50 MB tensor into a model costs one final concat.
 */

const enum WireType {
  Varint = 0,
  LengthDelimited = 2,
  Fixed32 = 5,
}

export class ProtoMessage {
  private readonly parts: Uint8Array[] = [];
  private byteLength = 0;

  get length(): number {
    return this.byteLength;
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, WireType.Varint);
    return this.varint(value);
  }

  float(field: number, value: number): this {
    this.tag(field, WireType.Fixed32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    return this.push(bytes);
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WireType.LengthDelimited);
    this.varint(value.length);
    return this.push(value);
  }

  message(field: number, value: ProtoMessage): this {
    this.tag(field, WireType.LengthDelimited);
    this.varint(value.length);
    for (const part of value.parts) {
      this.push(part);
    }
    return this;
  }

  /** Packed repeated int64, the encoding proto3 uses by default for repeated scalars. */
  packedInts(field: number, values: readonly number[]): this {
    const packed = new ProtoMessage();
    for (const value of values) {
      packed.varint(value);
    }
    return this.message(field, packed);
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts, this.byteLength);
  }

  private tag(field: number, wireType: WireType): this {
    return this.varint((field << 3) | wireType);
  }

  /** Negative int64 values are written as 10-byte two's complement varints, as protobuf requires. */
  private varint(value: number | bigint): this {
    let remaining = BigInt.asUintN(64, BigInt(value));
    const bytes: number[] = [];
    while (remaining >= 0x80n) {
      bytes.push(Number(remaining & 0x7fn) | 0x80);
      remaining >>= 7n;
    }
    bytes.push(Number(remaining));
    return this.push(Uint8Array.from(bytes));
  }

  private push(bytes: Uint8Array): this {
    this.parts.push(bytes);
    this.byteLength += bytes.length;
    return this;
  }
}
