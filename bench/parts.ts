import { embeddingPart } from './embedding';
import { BenchPart } from './lib/part';

/** Every part, in the order `npm run bench` runs them; later parts (pipeline, tei) are added here. */
export const PARTS: BenchPart[] = [embeddingPart];
