import { makeCorpus } from '../lib/corpus';
import { availableParallelism } from 'node:os';

async function main() {
  const dir = '/work/main/.cache/models/minilm';
  const texts = makeCorpus({ texts: 256, minWords: 5, maxWords: 180, seed: 42 });
  const { env, pipeline, AutoTokenizer } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  console.log('onnx env', Object.keys(env.backends.onnx), (env.backends.onnx as any).versions);
  const t0 = performance.now();
  const extractor: any = await pipeline('feature-extraction', dir, {
    local_files_only: true, dtype: 'fp32', device: 'cpu',
    session_options: { intraOpNumThreads: availableParallelism(), interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' },
  });
  console.log('load ms', performance.now() - t0, 'max len', extractor.tokenizer.model_max_length);
  extractor.tokenizer._tokenizerConfig.model_max_length = 256;
  console.log('max len', extractor.tokenizer.model_max_length, extractor.model.sessions ? Object.keys(extractor.model.sessions) : '', extractor.model.sessions?.model?.config);
  for (let r = 0; r < 2; r++) {
    const t = performance.now();
    let padded = 0;
    for (let i = 0; i < texts.length; i += 32) {
      const out = await extractor(texts.slice(i, i + 32), { pooling: 'mean', normalize: true });
      if (r === 0 && i === 0) console.log(out.dims);
    }
    const s = (performance.now() - t) / 1000;
    console.log('tjs', s.toFixed(2), 's', (texts.length / s).toFixed(1), '/s');
  }
  const tok = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
  const t = performance.now();
  const enc = tok(texts, { truncation: true, max_length: 256, padding: false, return_tensor: false });
  console.log('tjs tok ms', performance.now() - t);
}
main();
