import { TokenPooling } from './model-files/sentence-transformers-settings';

/** Token vectors of one batch: row-major [batchSize, sequenceLength, hiddenSize] plus the attention mask. */
export interface TokenVectors {
  data: Float32Array;
  batchSize: number;
  sequenceLength: number;
  hiddenSize: number;
  attentionMask: BigInt64Array;
}

/** One vector per row; only positions with attention mask 1 count, so padding never changes a vector. */
export function poolTokenVectors(tokens: TokenVectors, pooling: TokenPooling): Float32Array[] {
  const rows: Float32Array[] = [];
  for (let row = 0; row < tokens.batchSize; row++) {
    const positions = attendedPositions(tokens, row);
    const chosen = pooling === 'mean' ? positions : pooling === 'cls' ? positions.slice(0, 1) : positions.slice(-1);
    rows.push(averageOf(tokens, row, chosen));
  }
  return rows;
}

/** Splits a [rows, width] output (a graph's own sentence_embedding) into one vector per row. */
export function splitRows(data: Float32Array, rows: number, width: number): Float32Array[] {
  return Array.from({ length: rows }, (_, row) => data.slice(row * width, (row + 1) * width));
}

function attendedPositions(tokens: TokenVectors, row: number): number[] {
  const positions: number[] = [];
  for (let position = 0; position < tokens.sequenceLength; position++) {
    if (tokens.attentionMask[row * tokens.sequenceLength + position] !== 0n) {
      positions.push(position);
    }
  }
  return positions;
}

/** Accumulates in float64: summing hundreds of float32 values otherwise loses digits the reference keeps. */
function averageOf(tokens: TokenVectors, row: number, positions: number[]): Float32Array {
  const { data, sequenceLength, hiddenSize } = tokens;
  const sum = new Float64Array(hiddenSize);
  for (const position of positions) {
    const offset = (row * sequenceLength + position) * hiddenSize;
    for (let dim = 0; dim < hiddenSize; dim++) {
      sum[dim] += data[offset + dim];
    }
  }
  const count = Math.max(positions.length, 1);
  return Float32Array.from(sum, (value) => value / count);
}
