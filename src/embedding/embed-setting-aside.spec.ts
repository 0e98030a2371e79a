import { embedSettingAside } from './embed-setting-aside';
import { EmbeddingInputError } from './embedding.errors';

/** Refuses texts starting with "bad", naming the first one's position in what it was given, like the provider. */
async function picky(texts: string[], indexes: number[]): Promise<Float32Array[]> {
  const bad = texts.findIndex((text) => text.startsWith('bad'));
  if (bad >= 0) throw new EmbeddingInputError(`chunks[${indexes[bad]}].text is bad`, 'texts', bad);
  return texts.map((text) => Float32Array.of(text.length));
}

describe('embedSettingAside', () => {
  it('embeds everything in one call when nothing is refused', async () => {
    let calls = 0;
    const result = await embedSettingAside(['a', 'bb'], (texts, indexes) => (calls++, picky(texts, indexes)));
    expect([...result.vectors]).toEqual([
      [0, Float32Array.of(1)],
      [1, Float32Array.of(2)],
    ]);
    expect(result.refused.size).toBe(0);
    expect(calls).toBe(1);
  });

  it('sets each refused text aside under its own index, with the message naming it, and embeds the rest', async () => {
    const result = await embedSettingAside(['a', 'bad1', 'ccc', 'bad2', 'dddd'], picky);
    expect([...result.refused]).toEqual([
      [1, 'chunks[1].text is bad'],
      [3, 'chunks[3].text is bad'],
    ]);
    expect([...result.vectors.keys()]).toEqual([0, 2, 4]);
    expect(result.vectors.get(4)).toEqual(Float32Array.of(4));
  });

  it('ends when every text is refused', async () => {
    const result = await embedSettingAside(['bad1', 'bad2'], picky);
    expect(result.vectors.size).toBe(0);
    expect([...result.refused.keys()]).toEqual([0, 1]);
  });

  it('lets errors about the whole request through', async () => {
    const tooMany = () => Promise.reject(new EmbeddingInputError('chunks: at most 2 inputs', 'chunks'));
    await expect(embedSettingAside(['a', 'b', 'c'], tooMany)).rejects.toThrow('chunks: at most 2 inputs');
  });
});
