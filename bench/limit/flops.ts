import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sum } from '../lib/stats';

/** The shapes that decide a BERT encoder's work, from its config.json. */
export interface EncoderShape {
  hidden: number;
  layers: number;
  intermediate: number;
}

export function readEncoderShape(modelDir: string): EncoderShape {
  const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as Record<string, number>;
  return { hidden: config.hidden_size, layers: config.num_hidden_layers, intermediate: config.intermediate_size };
}

/**
 * The weight products of one layer as [K, N] (rows of the activations times K × N weights): the query, key, value
 * and output projections, then the feed-forward's widening and narrowing. These are what a GEMM roofline measures.
 */
export function projectionShapes({ hidden, intermediate }: EncoderShape): { k: number; n: number; count: number }[] {
  return [
    { k: hidden, n: hidden, count: 4 },
    { k: hidden, n: intermediate, count: 1 },
    { k: intermediate, n: hidden, count: 1 },
  ];
}

/**
 * Multiply-adds × 2 of one sequence of `length` tokens: per layer, the weight products (2 × length × (4h² + 2hi))
 * and attention's two products of the sequence with itself (QKᵀ and the weighted sum of V: 2 × 2 × length² × h).
 * Embedding lookups, layer norms, softmax, GELU and pooling are memory work, left out (well under 1 % of the FLOPs).
 */
export function sequenceFlops({ hidden, layers, intermediate }: EncoderShape, length: number): number {
  const projections = 2 * length * (4 * hidden * hidden + 2 * hidden * intermediate);
  const attention = 4 * length * length * hidden;
  return layers * (projections + attention);
}

/** Useful FLOPs: each text at its own length, no padding. */
export function usefulFlops(shape: EncoderShape, lengths: number[]): number {
  return sum(lengths.map((length) => sequenceFlops(shape, length)));
}

/** What a padded batch of `texts` rows of `sequenceLength` tokens computes. */
export function paddedFlops(shape: EncoderShape, texts: number, sequenceLength: number): number {
  return texts * sequenceFlops(shape, sequenceLength);
}

/** The share of a sequence's FLOPs that attention's products take, at `length` tokens. */
export function attentionShare(shape: EncoderShape, length: number): number {
  return (shape.layers * 4 * length * length * shape.hidden) / sequenceFlops(shape, length);
}
