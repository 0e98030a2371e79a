import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { CorpusOptions } from '../lib/corpus';
import { ProbeRequest, ProbeResult } from './memory-probe';

/** The batch limits compared: below the default, the default, and a GPU-sized one (which needs more texts per run). */
export const MEMORY_LIMITS = [
  { maxBatchTokens: 2048, maxBatchSize: 32 },
  { maxBatchTokens: 8192, maxBatchSize: 32 },
  { maxBatchTokens: 32768, maxBatchSize: 128 },
];
export const MEMORY_FILES = ['onnx/model.onnx', 'onnx/model_quantized.onnx'];

export interface MemoryFigure extends ProbeResult {
  file: string;
  maxBatchTokens: number;
  maxBatchSize: number;
}

/** Each file at each limit in a process of its own, one after the other. */
export async function measureMemory(
  modelDir: string,
  corpus: CorpusOptions,
  callSize: number,
  log: (line: string) => void,
): Promise<MemoryFigure[]> {
  const figures: MemoryFigure[] = [];
  for (const file of MEMORY_FILES) {
    for (const limits of MEMORY_LIMITS) {
      const request: ProbeRequest = { modelDir, file, ...limits, callSize, corpus };
      const result = await runProbe(request);
      log(
        `  ${file} at ${limits.maxBatchTokens} tokens / ${limits.maxBatchSize} texts: peak ${result.peakMiB.toFixed(0)} MiB`,
      );
      figures.push({ file, ...limits, ...result });
    }
  }
  return figures;
}

async function runProbe(request: ProbeRequest): Promise<ProbeResult> {
  const script = resolve(__dirname, 'memory-probe.ts');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', script, JSON.stringify(request)],
    { maxBuffer: 1 << 20 },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as ProbeResult;
}
