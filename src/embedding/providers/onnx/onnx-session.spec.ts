import { EmbeddingErrorCode } from '../../embedding.errors';
import { allEmbedded, EmbeddingLogger } from '../embedding-provider';
import { OnnxEmbeddingProvider } from './onnx-embedding-provider';
import { missingCudaProviderFiles } from './onnx-session';
import { ensureModel } from '../../../../test/fixtures/model/make-model';

/** These tests describe a machine without onnxruntime's CUDA files, like CI; with them installed they skip. */
const cudaFilesInstalled = missingCudaProviderFiles().length === 0;
const withoutCudaFiles = cudaFilesInstalled ? it.skip : it;

class RecordingLogger implements EmbeddingLogger {
  readonly warnings: string[] = [];
  log(): void {}
  warn(message: string): void {
    this.warnings.push(message);
  }
}

describe('CUDA execution provider', () => {
  let modelDir: string;

  beforeAll(async () => {
    modelDir = await ensureModel('tiny');
  });

  withoutCudaFiles('fails to start, naming the missing provider files and how to install them', async () => {
    const provider = new OnnxEmbeddingProvider({ models: [{ id: 'tiny', path: modelDir }], device: 'cuda' });
    const attempt = provider.init();
    await expect(attempt).rejects.toMatchObject({ code: EmbeddingErrorCode.DeviceUnavailable });
    await expect(attempt).rejects.toThrow(
      /^CUDA execution provider files are not installed \(missing \/\S+\/libonnxruntime_providers_cuda\.so, \/\S+\/libonnxruntime_providers_shared\.so\); reinstall with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci`$/,
    );
    expect((await provider.readiness()).ready).toBe(false);
  });

  withoutCudaFiles('falls back to CPU with a warning when fallbackToCpu is on', async () => {
    const logger = new RecordingLogger();
    const models = [{ id: 'tiny', path: modelDir }];
    const fallback = new OnnxEmbeddingProvider({ models, device: 'cuda', deviceId: 1, fallbackToCpu: true, logger });
    const cpu = new OnnxEmbeddingProvider({ models });
    await Promise.all([fallback.init(), cpu.init()]);

    expect(fallback.describe('tiny').device).toBe('cpu');
    expect(logger.warnings).toEqual([
      expect.stringMatching(/^CUDA execution provider files are not installed.*falling back to CPU/),
    ]);
    const [fromFallback] = allEmbedded(await fallback.embed('tiny', ['hello there']));
    const [fromCpu] = allEmbedded(await cpu.embed('tiny', ['hello there']));
    expect([...fromFallback]).toEqual([...fromCpu]);
    await Promise.all([fallback.close(), cpu.close()]);
  });

  withoutCudaFiles('falls back to the CPU file, not the CUDA variant (EMBEDDING_CUDA_MODEL_FILE)', async () => {
    const logger = new RecordingLogger();
    const models = [{ id: 'tiny', path: modelDir }];
    const options = { models, device: 'cuda' as const, fallbackToCpu: true, cudaModelFile: 'model_fp16.onnx', logger };
    const provider = new OnnxEmbeddingProvider(options);
    await provider.init();
    expect(provider.describe('tiny')).toMatchObject({ device: 'cpu', dtype: 'float32' });
    expect(logger.warnings).toEqual([
      expect.stringMatching(/falling back to CPU with model\.onnx instead of model_fp16\.onnx as configured$/),
    ]);
    await provider.close();
  });

  it('refuses to start when the CUDA variant is missing, naming it, before trying the device', async () => {
    const models = [{ id: 'tiny', path: modelDir }];
    const provider = new OnnxEmbeddingProvider({ models, device: 'cuda', cudaModelFile: 'model_bf16.onnx' });
    const attempt = provider.init();
    await expect(attempt).rejects.toMatchObject({ code: EmbeddingErrorCode.ModelFilesUnavailable });
    await expect(attempt).rejects.toThrow(/Missing: \S+\/onnx\/model_bf16\.onnx, \S+\/model_bf16\.onnx\./);
  });
});
