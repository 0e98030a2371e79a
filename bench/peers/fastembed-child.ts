/**
 * fastembed-js in a process of its own: it pins onnxruntime-node 1.21, whose native library has the same soname as
 * the service's 1.30, so the two cannot load in one process. Messages: { init: { modelDir, cacheDir } } then
 * { texts } → { vectors } (one per text), { error } on failure.
 */
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';

type Request = { init: { modelDir: string; cacheDir: string } } | { texts: string[] };
type Model = { embed(texts: string[]): AsyncGenerator<number[][]> };

let model: Model | undefined;

async function init(modelDir: string, cacheDir: string): Promise<void> {
  const { EmbeddingModel, FlagEmbedding } = await import('fastembed');
  // Where fastembed looks before downloading: <cacheDir>/fast-all-MiniLM-L6-v2/, model.onnx at the top as in its tarball.
  const folder = join(cacheDir, EmbeddingModel.AllMiniLML6V2);
  await mkdir(folder, { recursive: true });
  for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) {
    await symlink(join(modelDir, file), join(folder, file));
  }
  await symlink(join(modelDir, 'onnx/model.onnx'), join(folder, 'model.onnx'));
  model = await FlagEmbedding.init({ model: EmbeddingModel.AllMiniLML6V2, cacheDir, showDownloadProgress: false });
}

async function embed(texts: string[]): Promise<number[][]> {
  const vectors: number[][] = [];
  for await (const batch of model!.embed(texts)) vectors.push(...batch.map((vector) => Array.from(vector)));
  return vectors;
}

process.on('message', (request: Request) => {
  const answer =
    'init' in request
      ? init(request.init.modelDir, request.init.cacheDir).then(() => ({ ready: true }))
      : embed(request.texts).then((vectors) => ({ vectors }));
  answer.then(
    (message) => process.send!(message),
    (error: unknown) => process.send!({ error: error instanceof Error ? error.message : String(error) }),
  );
});
