import { ChargedTokens, chargeTokens as charge } from './charge-tokens';
import { EmbeddedChunks } from './embedded-chunks';

/** A task link, as the sender claims it: `id` stands for its link id. */
interface Link {
  id: number;
  taskId: number;
  contentHash: string;
}

const link = (id: number, taskId: number, contentHash: string): Link => ({ id, taskId, contentHash });

/** The links that ended done, by id; the answer by link id, for reading. */
function chargeTokens(items: Link[], done: Set<number>, embedded: EmbeddedChunks) {
  const { byItem, unused }: ChargedTokens<Link> = charge(items, (item) => done.has(item.id), embedded);
  return { byLink: new Map([...byItem].map(([item, tokens]) => [item.id, tokens])), unused };
}

function embedded(tokens: Record<string, number>, embeddedHashes: string[]): EmbeddedChunks {
  return {
    model: 'm',
    dimensions: 2,
    vectors: new Map(),
    refused: new Map(),
    embedded: new Set(embeddedHashes),
    tokens: new Map(Object.entries(tokens)),
  };
}

describe('chargeTokens', () => {
  it('charges each embedded text once, to its first done link; other links of that text and reused ones save', () => {
    // a and b embedded (10 and 20 tokens), c reused from the store (7 tokens); a is in tasks 1 and 2.
    const items = [link(1, 1, 'a'), link(2, 1, 'b'), link(3, 2, 'a'), link(4, 2, 'c'), link(5, 1, 'c')];
    const result = chargeTokens(items, new Set([1, 2, 3, 4, 5]), embedded({ a: 10, b: 20, c: 7 }, ['a', 'b']));
    expect(Object.fromEntries(result.byLink)).toEqual({
      1: { tokens: 10, saved: 0 },
      2: { tokens: 20, saved: 0 },
      3: { tokens: 0, saved: 10 },
      4: { tokens: 0, saved: 7 },
      5: { tokens: 0, saved: 7 },
    });
    expect(result.unused).toBe(0);
  });

  it('charges the first link that ended done, and counts what no done link used as unused', () => {
    const items = [link(1, 1, 'a'), link(2, 2, 'a'), link(3, 1, 'b')];
    // Link 1 (task 1) was refused by the receiver; b's only link went back for a retry.
    const result = chargeTokens(items, new Set([2]), embedded({ a: 10, b: 20 }, ['a', 'b']));
    expect(Object.fromEntries(result.byLink)).toEqual({ 2: { tokens: 10, saved: 0 } });
    expect(result.unused).toBe(20);
  });

  it('sums to what the embedding calls cost: charged tokens plus unused', () => {
    const items = Array.from({ length: 50 }, (_, i) => link(i + 1, (i % 3) + 1, `t${i % 17}`));
    const costs = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`t${i}`, i + 5]));
    const done = new Set(items.filter((_, i) => i % 4 !== 0).map((item) => item.id));
    const result = chargeTokens(items, done, embedded(costs, Object.keys(costs)));
    const charged = [...result.byLink.values()].reduce((sum, link) => sum + link.tokens, 0);
    expect(charged + result.unused).toBe(Object.values(costs).reduce((a, b) => a + b, 0));
  });
});
