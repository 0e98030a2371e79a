import { CachedVector, entryBytes, ModelVectors, sameVersion, VectorCache } from './vector-cache';

const vector = (dimensions: number, xmin = 1): CachedVector => ({
  xmin,
  block: 0,
  offset: 1,
  values: new Float32Array(dimensions),
  norm: 0,
  generation: 0,
});

function model(count: number, dimensions = 4): ModelVectors {
  const vectors = new ModelVectors();
  for (let id = 1; id <= count; id++) vectors.set(id, vector(dimensions));
  return vectors;
}

describe('VectorCache', () => {
  it('counts the bytes of what a model keeps, replaced and deleted rows included', () => {
    const vectors = model(3);
    expect(vectors.bytes).toBe(3 * entryBytes(4));
    vectors.set(2, vector(8, 2));
    vectors.delete(3);
    vectors.delete(99);
    expect(vectors.bytes).toBe(entryBytes(4) + entryBytes(8));
  });

  it('keeps models within its size, the least recently searched leaving first', () => {
    const cache = new VectorCache(3 * 10 * entryBytes(4));
    for (const name of ['a', 'b', 'c']) cache.keep(name, model(10));
    expect(cache.take('a')).toBeDefined(); // a is now the most recent: b leaves for d
    cache.keep('d', model(10));
    expect(['a', 'b', 'c', 'd'].map((name) => cache.take(name) !== undefined)).toEqual([true, false, true, true]);
    expect(cache.totalBytes()).toBeLessThanOrEqual(cache.maxBytes);
  });

  it('does not keep a model larger than its size, nor an empty one; 0 turns it off', () => {
    const cache = new VectorCache(5 * entryBytes(4));
    cache.keep('big', model(6));
    cache.keep('empty', model(0));
    expect(cache.take('big')).toBeUndefined();
    expect(cache.take('empty')).toBeUndefined();
    expect(new VectorCache(0).enabled).toBe(false);
  });

  it('drops the rows the last search of the whole model did not see', () => {
    const vectors = model(4);
    vectors.generation = 2;
    [1, 3].forEach((id) => (vectors.byChunk.get(id)!.generation = 2));
    vectors.dropOlderThan(2);
    expect([...vectors.byChunk.keys()]).toEqual([1, 3]);
    expect(vectors.bytes).toBe(2 * entryBytes(4));
  });

  it('takes a row as unchanged only when xmin and ctid are both the same', () => {
    const kept = { xmin: 5, block: 7, offset: 3 };
    expect(sameVersion(kept, { ...kept })).toBe(true);
    expect(sameVersion(kept, { ...kept, xmin: 6 })).toBe(false);
    expect(sameVersion(kept, { ...kept, block: 8 })).toBe(false);
    expect(sameVersion(kept, { ...kept, offset: 4 })).toBe(false);
  });
});
