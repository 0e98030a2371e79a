import { BertShape } from './bert-graph';

export type ModelSize = 'tiny' | 'minilm';

export interface ModelBlueprint {
  size: ModelSize;
  shape: BertShape;
  /** sentence_bert_config.json max_seq_length: the longest input, special tokens included. */
  maxSeqLength: number;
  seed: number;
}

export const MODEL_SIZES: readonly ModelSize[] = ['tiny', 'minilm'];

/**
 * `tiny` keeps the test suite fast; its larger weight spread makes attention clearly position-dependent, so
 * a padding or masking bug moves vectors far beyond test tolerances. `minilm` has all-MiniLM-L6-v2's shape,
 * for realistic benchmarks.
 */
export const MODEL_BLUEPRINTS: Record<ModelSize, ModelBlueprint> = {
  tiny: {
    size: 'tiny',
    shape: {
      vocabSize: 1024,
      hiddenSize: 32,
      numLayers: 2,
      numHeads: 4,
      intermediateSize: 64,
      maxPositions: 128,
      typeVocabSize: 2,
      layerNormEps: 1e-12,
      initStd: 0.2,
    },
    maxSeqLength: 64,
    seed: 20240601,
  },
  minilm: {
    size: 'minilm',
    shape: {
      vocabSize: 30522,
      hiddenSize: 384,
      numLayers: 6,
      numHeads: 12,
      intermediateSize: 1536,
      maxPositions: 512,
      typeVocabSize: 2,
      layerNormEps: 1e-12,
      initStd: 0.02,
    },
    maxSeqLength: 256,
    seed: 20240606,
  },
};

export function isModelSize(value: string): value is ModelSize {
  return (MODEL_SIZES as readonly string[]).includes(value);
}
