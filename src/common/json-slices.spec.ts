import { jsonSlices } from './json-slices';

async function text(value: unknown, sliceChars?: number): Promise<{ joined: string; slices: string[] }> {
  const slices: string[] = [];
  for await (const slice of jsonSlices(value, sliceChars)) slices.push(slice);
  return { joined: slices.join(''), slices };
}

describe('jsonSlices', () => {
  const values: Array<[string, unknown]> = [
    [
      'vectors',
      [
        [0.1, -2.5e-7, 3],
        [4, 5, 6],
      ],
    ],
    [
      'token vectors',
      [
        [
          [1, 2],
          [3, 4],
        ],
        [[5, 6]],
      ],
    ],
    ['tokens', [[{ id: 101, text: '[CLS]', special: true, start: null, stop: null }], []]],
    ['an OpenAI answer', { object: 'list', data: [{ index: 0, embedding: [1.5, 2] }], usage: { prompt_tokens: 3 } }],
    ['undefined members', { a: undefined, b: [undefined, 1, { c: undefined, d: [() => 1, 2] }] }],
    ['strings that need escapes', ['a"b', 'line\nbreak', '\u0000', 'é😀']],
    ['scalars', 'text'],
    ['an empty array', []],
    ['null', null],
  ];

  it.each(values)('writes %s exactly as JSON.stringify does', async (_, value) => {
    expect((await text(value)).joined).toBe(JSON.stringify(value));
  });

  it('cuts a large answer into slices of about the size asked', async () => {
    const rows = Array.from({ length: 1000 }, (_, row) => Array.from({ length: 32 }, (__, column) => row + column / 7));
    const { joined, slices } = await text(rows, 4096);
    expect(joined).toBe(JSON.stringify(rows));
    expect(slices.length).toBeGreaterThan(10);
    const longestRow = Math.max(...rows.map((row) => JSON.stringify(row).length));
    expect(Math.max(...slices.map((slice) => slice.length))).toBeLessThan(4096 + longestRow + 2);
  });
});
