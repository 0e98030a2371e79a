import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { buildBertGraph } from './bert-graph';
import { hubLayoutJsonFiles } from './hub-layout-files';
import { MODEL_BLUEPRINTS, ModelBlueprint, ModelSize } from './model-blueprints';
import { encodeOnnxModel } from './onnx-proto';
import { SeededRandom } from './seeded-random';
import { buildWordPieceVocabulary } from './wordpiece-vocabulary';

/** Bump when the generated files change, so cached models made by older code are regenerated. */
const GENERATOR_VERSION = 1;
const MARKER_FILE = '.model-complete.json';
const ONNX_FILE = 'onnx/model.onnx';

interface CompletionMarker {
  blueprintHash: string;
  files: Record<string, string>;
}

/** Where tests and benchmarks keep generated models: `<repo>/.cache/models/<size>` (gitignored). */
export function defaultModelDir(size: ModelSize): string {
  return resolve(__dirname, '../../..', '.cache/models', size);
}

/** Returns `dir` holding the model, generating it only when no complete model of this blueprint is there. */
export async function ensureModel(size: ModelSize, dir: string = defaultModelDir(size)): Promise<string> {
  if (await isCompleteModel(MODEL_BLUEPRINTS[size], dir)) {
    return dir;
  }
  return makeModel(size, dir, { replaceExisting: false });
}

/**
 * Generates the model into a temporary sibling folder and renames it into place, so readers never see a half-written
 * model. When another process finished the same model first, its copy is kept and ours discarded.
 */
export async function makeModel(size: ModelSize, outDir: string, options = { replaceExisting: true }): Promise<string> {
  const blueprint = MODEL_BLUEPRINTS[size];
  const staging = `${outDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeModelFiles(blueprint, staging);
    await publish(staging, outDir, blueprint, options.replaceExisting);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return outDir;
}

async function writeModelFiles(blueprint: ModelBlueprint, dir: string): Promise<void> {
  const vocabulary = buildWordPieceVocabulary(blueprint.shape.vocabSize);
  const graph = buildBertGraph(blueprint.shape, new SeededRandom(blueprint.seed));
  const files: Record<string, Buffer> = {
    [ONNX_FILE]: encodeOnnxModel({ irVersion: 8, opsetVersion: 17, producerName: 'embedding-tasks', graph }),
  };
  for (const [path, json] of Object.entries(hubLayoutJsonFiles(blueprint, vocabulary))) {
    files[path] = Buffer.from(JSON.stringify(json, null, 2) + '\n');
  }
  const marker: CompletionMarker = { blueprintHash: blueprintHash(blueprint), files: {} };
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
    marker.files[path] = createHash('sha256').update(content).digest('hex');
  }
  await writeFile(join(dir, MARKER_FILE), JSON.stringify(marker, null, 2) + '\n');
}

async function publish(staging: string, outDir: string, blueprint: ModelBlueprint, replaceExisting: boolean) {
  await mkdir(dirname(outDir), { recursive: true });
  if (!existsSync(outDir)) {
    try {
      return await rename(staging, outDir);
    } catch (error) {
      // Another process published first (ENOTEMPTY / EEXIST); fall through and decide whether to keep its copy.
    }
  }
  if (!replaceExisting && (await isCompleteModel(blueprint, outDir))) {
    return;
  }
  const retired = `${outDir}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
  await rename(outDir, retired).catch(() => undefined);
  await rename(staging, outDir);
  await rm(retired, { recursive: true, force: true });
}

async function isCompleteModel(blueprint: ModelBlueprint, dir: string): Promise<boolean> {
  try {
    const marker = JSON.parse(await readFile(join(dir, MARKER_FILE), 'utf8')) as CompletionMarker;
    const allFilesPresent = Object.keys(marker.files).every((path) => existsSync(join(dir, path)));
    return marker.blueprintHash === blueprintHash(blueprint) && allFilesPresent;
  } catch {
    return false;
  }
}

function blueprintHash(blueprint: ModelBlueprint): string {
  return createHash('sha256').update(JSON.stringify({ GENERATOR_VERSION, blueprint })).digest('hex');
}

/** Only the tokenizer.json of a size: tests of tokenisation need no 90 MB graph. */
export async function writeTokenizerJson(size: ModelSize, path: string): Promise<string> {
  const blueprint = MODEL_BLUEPRINTS[size];
  const files = hubLayoutJsonFiles(blueprint, buildWordPieceVocabulary(blueprint.shape.vocabSize));
  await writeFile(path, JSON.stringify(files['tokenizer.json']));
  return path;
}
