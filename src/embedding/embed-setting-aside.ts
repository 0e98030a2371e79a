import { EmbeddingInputError } from './embedding.errors';

export interface SetAsideResult {
  /** The vector of each text that was embedded, by the text's index. */
  vectors: Map<number, Float32Array>;
  /** Why each refused text was refused, by the text's index. */
  refused: Map<number, string>;
}

/**
 * Embeds texts so that a text the model refuses on its own (an EmbeddingInputError naming its index: empty, too
 * long, over a limit) fails alone: it is set aside and the rest embedded again. `embed` gets the texts still in
 * play with their indexes in `texts`, for messages. Any other error propagates. Shared by the local sender and by
 * POST /embeddings/batch with `deliver`.
 */
export async function embedSettingAside(
  texts: string[],
  embed: (texts: string[], indexes: number[]) => Promise<Float32Array[]>,
): Promise<SetAsideResult> {
  const refused = new Map<number, string>();
  let pending = texts.map((_, index) => index);
  while (pending.length > 0) {
    try {
      const vectors = await embed(
        pending.map((index) => texts[index]),
        pending,
      );
      return { vectors: new Map(pending.map((index, position) => [index, vectors[position]])), refused };
    } catch (error) {
      const bad = error instanceof EmbeddingInputError && error.index !== undefined ? pending[error.index] : undefined;
      if (bad === undefined) throw error;
      refused.set(bad, (error as Error).message);
      pending = pending.filter((index) => index !== bad);
    }
  }
  return { vectors: new Map(), refused };
}
