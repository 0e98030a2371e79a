import { INSERT_SLICE, insertSlices } from './task.repository';

describe('insertSlices', () => {
  const chunk = (chars: number) => ({ text: 'x'.repeat(chars), metadata: {} });

  it('keeps every chunk once, in order, within the count and character limits', () => {
    const chunks = Array.from({ length: 2_500 }, (_, i) => ({ text: String(i), metadata: {} }));
    const slices = insertSlices(chunks);
    expect(slices.map((slice) => slice.length)).toEqual([INSERT_SLICE.chunks, INSERT_SLICE.chunks, 500]);
    expect(slices.flat()).toEqual(chunks);
  });

  it('cuts by characters, and gives a text longer than the limit a slice of its own', () => {
    const half = INSERT_SLICE.chars / 2;
    const slices = insertSlices([chunk(half), chunk(half), chunk(1), chunk(INSERT_SLICE.chars + 1), chunk(1)]);
    expect(slices.map((slice) => slice.map((c) => c.text.length))).toEqual([
      [half, half],
      [1],
      [INSERT_SLICE.chars + 1],
      [1],
    ]);
  });

  it('makes no slice of nothing', () => {
    expect(insertSlices([])).toEqual([]);
  });
});
