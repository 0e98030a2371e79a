import { findShapeProblem, stringProblem } from './json-shape';

const nested = (levels: number): unknown => {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i++) value = [value];
  return value;
};

describe('json-shape', () => {
  const rules = { maxDepth: 4, refuseNul: true };

  it('finds NUL and lone surrogates in strings and keys, naming the place', () => {
    expect(findShapeProblem({ a: [1, 'x\u0000'] }, 'metadata', rules)).toEqual({
      path: 'metadata.a.1',
      message: 'must not contain NUL (\\u0000) characters',
    });
    expect(findShapeProblem({ 'a b': { '\ud800': 1 } }, 'm', rules)).toEqual({
      path: 'm["a b"]["\\ud800"]',
      message: 'key must be valid Unicode (it holds a lone surrogate)',
    });
    expect(findShapeProblem({ ok: 'emoji 😀', n: null, list: [true, 2] }, 'm', rules)).toBeUndefined();
  });

  it('lets NUL through when told to (embedding inputs are not stored)', () => {
    expect(findShapeProblem(['a\u0000'], '', { maxDepth: 4, refuseNul: false })).toBeUndefined();
    expect(stringProblem('\udc00', false)).toBe('must be valid Unicode (it holds a lone surrogate)');
  });

  it('counts objects and arrays as levels, not the values they hold', () => {
    expect(findShapeProblem(nested(4), 'x', rules)).toBeUndefined();
    expect(findShapeProblem(nested(5), 'x', rules)).toEqual({
      path: 'x.0.0.0.0',
      message: 'nests deeper than 4 levels',
    });
  });

  it('walks 100,000 levels without recursion', () => {
    const deep = nested(100_000);
    expect(findShapeProblem(deep, '', { maxDepth: 200_000, refuseNul: true })).toBeUndefined();
    expect(findShapeProblem(deep, '', { maxDepth: 64, refuseNul: false })).toMatchObject({
      message: 'nests deeper than 64 levels',
    });
  });

  it('names the place after siblings that were fine', () => {
    expect(findShapeProblem({ a: [1, { b: 'ok' }], c: { d: ['x', '\ud800'] } }, 'm', rules)).toEqual({
      path: 'm.c.d.1',
      message: 'must be valid Unicode (it holds a lone surrogate)',
    });
  });
});
