/**
 * Writes a BERT-shaped ONNX embedding model with seeded random weights in Hugging Face hub layout.
 * Usage: npx tsx scripts/make-model.ts <tiny|minilm> [outDir] [--force]
 */
import { resolve } from 'node:path';
import { isModelSize, MODEL_SIZES } from '../test/fixtures/model/model-blueprints';
import { defaultModelDir, ensureModel, makeModel } from '../test/fixtures/model/make-model';

async function main(args: string[]): Promise<void> {
  const force = args.includes('--force');
  const [size, outDir] = args.filter((arg) => arg !== '--force');
  if (!size || !isModelSize(size)) {
    console.error(`Usage: make-model <${MODEL_SIZES.join('|')}> [outDir] [--force]`);
    process.exit(2);
  }
  const dir = outDir ? resolve(outDir) : defaultModelDir(size);
  const started = performance.now();
  await (force ? makeModel(size, dir) : ensureModel(size, dir));
  console.log(`${size} model ready in ${dir} (${Math.round(performance.now() - started)} ms)`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
