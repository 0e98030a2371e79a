import { ScanProblemCode, scanJson } from './json-scan';

const rules = { maxValues: 100, maxDepth: 4 };
const scan = (text: string, overrides = {}) => scanJson(Buffer.from(text), { ...rules, ...overrides });

describe('json-scan', () => {
  it('passes valid JSON of every kind', () => {
    for (const text of ['{}', '[]', '0', '"a"', 'null', '{"a":[1,-2.5e3,true,false,null,"x\\"y\\\\"],"b":{"c":"😀"}}'])
      expect(scan(text)).toBeUndefined();
  });

  it('counts values, not keys or bytes, and stops at the first one over the limit', () => {
    expect(scan('[0,0,0]', { maxValues: 4 })).toBeUndefined();
    expect(scan('{"a":12345,"b":"long string, with commas: [ and ]"}', { maxValues: 3 })).toBeUndefined();
    expect(scan('[0,0,0,0]', { maxValues: 4 })).toEqual({
      code: ScanProblemCode.TooManyValues,
      message: 'the body holds more than 4 JSON values (HTTP_MAX_JSON_VALUES)',
    });
  });

  it('finds a duplicate key anywhere, naming the key and its place', () => {
    expect(scan('{"a":1,"a":2}')).toMatchObject({
      code: ScanProblemCode.DuplicateKey,
      message: 'a is given twice (duplicate key "a")',
    });
    expect(scan('{"chunks":[{"text":"x"},{"metadata":{"k":1,"\\u006b":2}}]}')?.message).toBe(
      'chunks.1.metadata.k is given twice (duplicate key "k")',
    );
    expect(scan('[{"a":1},{"a":1}]')).toBeUndefined();
  });

  it('finds escaped lone surrogates in values and keys, and keeps escaped pairs', () => {
    expect(scan('{"a":["ok","\\ud800"]}')?.message).toBe('a.1 must be valid Unicode (it holds a lone surrogate)');
    expect(scan('{"\\udc00":1}')).toMatchObject({ code: ScanProblemCode.LoneSurrogate });
    expect(scan('"\\ud83d\\ude00 \\\\ud800"')).toBeUndefined();
  });

  it('counts objects and arrays as levels', () => {
    expect(scan('[[[["x"]]]]')).toBeUndefined();
    expect(scan('{"a":[[[[1]]]]}')).toEqual({
      code: ScanProblemCode.TooDeep,
      message: 'a.0.0.0 nests deeper than 4 levels',
    });
  });

  it('never throws on bytes that are not JSON (JSON.parse refuses them next)', () => {
    const pieces = ['{', '}', '[', ']', '"', '\\', '\\u', 'd800', ':', ',', 'a', '0', ' ', 'é'];
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 2000; i++) {
      const text = Array.from(
        { length: 1 + Math.floor(random() * 30) },
        () => pieces[Math.floor(random() * pieces.length)],
      );
      expect(() => scan(text.join(''))).not.toThrow();
    }
    for (const text of ['{"a', '{"a":"\\', '"\\ud800\\u', '}}]]', '{"a":1,"a', '[1,2'])
      expect(() => scan(text)).not.toThrow();
  });

  it('takes a body of 8 million numbers under a limit that allows them, and refuses it past one', () => {
    const body = Buffer.from(`{"chunks":[${'0,'.repeat(8_000_000)}0]}`);
    expect(scanJson(body, { maxValues: 10_000_000, maxDepth: 64 })).toBeUndefined();
    expect(scanJson(body, { maxValues: 2_000_000, maxDepth: 64 })?.code).toBe(ScanProblemCode.TooManyValues);
  });
});
