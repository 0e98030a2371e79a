import { tokenVectorsAsArrays, vectorsAsArrays } from './vectors-as-arrays';

const vector = (length: number, seed: number) => Float32Array.from({ length }, (_, i) => Math.fround((i + seed) / 7));

/** Whether a callback queued with setImmediate before `work` started ran before `work` finished. */
async function letOthersRun(work: () => Promise<unknown>): Promise<boolean> {
  let ran = false;
  setImmediate(() => (ran = true));
  await work();
  return ran;
}

describe('vectorsAsArrays / tokenVectorsAsArrays', () => {
  it('gives the values Array.from gives, in order', async () => {
    const vectors = [vector(5, 1), vector(5, 2), vector(0, 0)];
    expect(await vectorsAsArrays(vectors)).toEqual(vectors.map((v) => Array.from(v)));
    const tokens = [[vector(3, 1), vector(3, 2)], [], [vector(3, 3)]];
    expect(await tokenVectorsAsArrays(tokens)).toEqual(tokens.map((input) => input.map((v) => Array.from(v))));
  });

  it('lets the event loop turn while it copies millions of numbers, and not for a few', async () => {
    const many = Array.from({ length: 28 }, (_, input) =>
      Array.from({ length: 256 }, (__, t) => vector(384, input + t)),
    );
    expect(await letOthersRun(() => tokenVectorsAsArrays(many))).toBe(true);
    expect(await letOthersRun(() => vectorsAsArrays([vector(384, 1)]))).toBe(false);
  });
});
