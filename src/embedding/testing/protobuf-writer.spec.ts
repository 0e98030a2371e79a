import { ProtoMessage } from './protobuf-writer';

const hex = (message: ProtoMessage) => message.toBuffer().toString('hex');

describe(ProtoMessage.name, () => {
  it('encodes varints as the protobuf documentation example does (field 1 = 150 -> 08 96 01)', () => {
    expect(hex(new ProtoMessage().int(1, 150))).toBe('089601');
  });

  it('encodes negative int64 values as ten-byte two’s complement varints', () => {
    expect(hex(new ProtoMessage().int(3, -1))).toBe('18ffffffffffffffffff01');
  });

  it('encodes strings, floats and packed repeated ints with their wire types', () => {
    expect(hex(new ProtoMessage().string(2, 'testing'))).toBe('120774657374696e67');
    expect(hex(new ProtoMessage().float(2, 1.5))).toBe('150000c03f');
    expect(hex(new ProtoMessage().packedInts(4, [3, 270, 86942]))).toBe('2206038e029ea705');
  });

  it('nests messages as length-delimited fields and tracks the total length', () => {
    const inner = new ProtoMessage().int(1, 150);
    const outer = new ProtoMessage().message(3, inner);
    expect(hex(outer)).toBe('1a03089601');
    expect(outer.length).toBe(5);
  });
});
