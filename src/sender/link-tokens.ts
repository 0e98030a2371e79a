import { EmbeddedChunks } from '../delivery/delivery.service';
import { ClaimedChunk } from './sender.repository';

/** What one done link cost, and what reuse saved it. */
export interface LinkTokens {
  tokens: number;
  saved: number;
}

export interface BatchTokens {
  /** By link id, for the links that ended done. */
  byLink: Map<number, LinkTokens>;
  /** Tokens embedded for texts none of whose links ended done (refused by the receiver, retried, cancelled). */
  unused: number;
}

/**
 * A batch's tokens, on its done links, exactly: each text embedded for the batch is charged once, to its first done
 * link in claim order, with the tokens that embedding it cost (for a remote model, its share of the request's usage);
 * every other done link of the same text, and every link whose vector was reused from the store, counts those tokens
 * as saved. So the tokens charged to a batch's links plus `unused` are what its embedding calls cost.
 */
export function chargeTokens(items: ClaimedChunk[], done: Set<number>, embedded: EmbeddedChunks): BatchTokens {
  const byLink = new Map<number, LinkTokens>();
  const charged = new Set<string>();
  for (const item of items) {
    const tokens = embedded.tokens.get(item.contentHash);
    if (!done.has(item.linkId) || tokens === undefined) continue;
    const first = embedded.embedded.has(item.contentHash) && !charged.has(item.contentHash);
    if (first) charged.add(item.contentHash);
    byLink.set(item.linkId, first ? { tokens, saved: 0 } : { tokens: 0, saved: tokens });
  }
  let unused = 0;
  for (const hash of embedded.embedded) if (!charged.has(hash)) unused += embedded.tokens.get(hash) ?? 0;
  return { byLink, unused };
}
