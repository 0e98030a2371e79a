import { embeddingPart } from './embedding';
import { gpuPart } from './gpu';
import { hostilePart } from './hostile';
import { BenchPart } from './lib/part';
import { limitPart } from './limit';
import { livenessPart } from './liveness';
import { peersPart } from './peers';
import { pipelinePart } from './pipeline';
import { remotePart } from './remote';
import { rolesPart } from './roles';
import { scalePart } from './scale';
import { searchPart } from './search';
import { teiPart } from './tei';

/** Every part, in the order `npm run bench` runs them; later parts are added here. */
export const PARTS: BenchPart[] = [
  embeddingPart,
  pipelinePart,
  gpuPart,
  teiPart,
  remotePart,
  scalePart,
  rolesPart,
  livenessPart,
  searchPart,
  limitPart,
  peersPart,
  hostilePart,
];
