/**
 * Child process of the embedding part's memory table: one model file, one batch limit, the corpus embedded in the
 * sender's calls; prints its peak RSS as one JSON line. A process of its own, because the RSS high-water
 * mark only ever grows: in the parent it would hold the largest configuration's peak for all of them.
 * Argument: a JSON ProbeRequest.
 */
import { OnnxModel } from '../../src/embedding/providers/onnx/onnx-model';
import { chunk } from '../lib/chunk';
import { CorpusOptions, makeCorpus } from '../lib/corpus';
import { peakRssMiB } from '../lib/memory';

export interface ProbeRequest {
  modelDir: string;
  file: string;
  maxBatchTokens: number;
  maxBatchSize: number;
  callSize: number;
  corpus: CorpusOptions;
}

export interface ProbeResult {
  /** RSS after loading and warming up the model, before the corpus. */
  loadedMiB: number;
  peakMiB: number;
  seconds: number;
}

async function probe({ modelDir, file, maxBatchTokens, maxBatchSize, callSize, corpus }: ProbeRequest) {
  const provider = new OnnxModel({ id: 'probe', path: modelDir, modelFile: file }, { maxBatchTokens, maxBatchSize });
  await provider.load();
  const loadedMiB = process.memoryUsage.rss() / 2 ** 20;
  const started = performance.now();
  for (const texts of chunk(makeCorpus(corpus), callSize)) await provider.embed(texts);
  const result: ProbeResult = {
    loadedMiB,
    peakMiB: peakRssMiB(),
    seconds: (performance.now() - started) / 1000,
  };
  await provider.close();
  return result;
}

probe(JSON.parse(process.argv[2]) as ProbeRequest).then(
  (result) => {
    console.log(JSON.stringify(result));
    process.exit(0);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
