import { embeddingPart } from './embedding';
import { BenchPart } from './lib/part';
import { pipelinePart } from './pipeline';
import { remotePart } from './remote';
import { rolesPart } from './roles';
import { teiPart } from './tei';

/** Every part, in the order `npm run bench` runs them; later parts (pipeline, tei) are added here. */
export const PARTS: BenchPart[] = [embeddingPart, pipelinePart, teiPart, remotePart, rolesPart];
