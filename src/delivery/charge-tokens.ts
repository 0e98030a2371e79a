import { EmbeddedChunks } from './embedded-chunks';

/** What one done link cost, and what reuse saved it. */
export interface LinkTokens {
  tokens: number;
  saved: number;
}

export interface ChargedTokens<T> {
  /** For the items that ended done. */
  byItem: Map<T, LinkTokens>;
  /** Tokens embedded for texts none of whose items ended done (refused by the receiver, retried, cancelled). */
  unused: number;
}

/**
 * Embedded texts' tokens on the items (task links) that ended done, exactly: each text embedded for this call is
 * charged once, to its first done item in order, with the tokens that embedding it cost (for a remote model, its
 * share of the request's usage); every other done item of the same text, and every item whose vector was reused from
 * the store, counts those tokens as saved. So the tokens charged plus `unused` are what the embedding calls cost.
 */
export function chargeTokens<T extends { contentHash: string }>(
  items: T[],
  isDone: (item: T) => boolean,
  embedded: EmbeddedChunks,
): ChargedTokens<T> {
  const byItem = new Map<T, LinkTokens>();
  const charged = new Set<string>();
  for (const item of items) {
    const tokens = embedded.tokens.get(item.contentHash);
    if (!isDone(item) || tokens === undefined) continue;
    const first = embedded.embedded.has(item.contentHash) && !charged.has(item.contentHash);
    if (first) charged.add(item.contentHash);
    byItem.set(item, first ? { tokens, saved: 0 } : { tokens: 0, saved: tokens });
  }
  let unused = 0;
  for (const hash of embedded.embedded) if (!charged.has(hash)) unused += embedded.tokens.get(hash) ?? 0;
  return { byItem, unused };
}
