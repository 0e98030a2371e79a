import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Numbers copied between turns of the event loop. Copying is about 50 ns a number with its allocation, so a turn
 * holds the loop for a few milliseconds; the 28 × 256 token vectors of a largest /embed_all (2.75M numbers) took
 * about 150 ms in one go, during which /health/live and every other request waited.
 */
const NUMBERS_PER_TURN = 128 * 1024;

/** Counts the numbers copied, yielding the event loop each time NUMBERS_PER_TURN have been. */
class Turns {
  private copied = 0;

  async spend(numbers: number): Promise<void> {
    this.copied += numbers;
    if (this.copied < NUMBERS_PER_TURN) return;
    this.copied = 0;
    await nextTurn();
  }
}

/** The vectors as plain arrays (JSON's shape), a few milliseconds of copying at a time. */
export async function vectorsAsArrays(vectors: Float32Array[], turns = new Turns()): Promise<number[][]> {
  const arrays: number[][] = [];
  for (const vector of vectors) {
    arrays.push(Array.from(vector));
    await turns.spend(vector.length);
  }
  return arrays;
}

/** Each input's token vectors as plain arrays, a few milliseconds of copying at a time. */
export async function tokenVectorsAsArrays(inputs: Float32Array[][]): Promise<number[][][]> {
  const turns = new Turns();
  const arrays: number[][][] = [];
  for (const tokens of inputs) arrays.push(await vectorsAsArrays(tokens, turns));
  return arrays;
}
