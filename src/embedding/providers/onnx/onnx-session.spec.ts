import { EmbeddingErrorCode } from '../../embedding.errors';
import { allEmbedded, EmbeddingLogger } from '../embedding-model';
import { OnnxModel } from './onnx-model';
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
    const provider = new OnnxModel({ id: 'tiny', path: modelDir }, { device: 'cuda' });
    const attempt = provider.load();
    await expect(attempt).rejects.toMatchObject({ code: EmbeddingErrorCode.DeviceUnavailable });
    await expect(attempt).rejects.toThrow(
      /^CUDA execution provider files are not installed \(missing \/\S+\/libonnxruntime_providers_cuda\.so, \/\S+\/libonnxruntime_providers_shared\.so\); reinstall with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci`$/,
    );
    expect((await provider.readiness()).warmedUp).toBe(false);
  });

  withoutCudaFiles('falls back to CPU with a warning when fallbackToCpu is on', async () => {
    const logger = new RecordingLogger();
    const source = { id: 'tiny', path: modelDir };
    const fallback = new OnnxModel(source, { device: 'cuda', deviceId: 1, fallbackToCpu: true, logger });
    const cpu = new OnnxModel(source);
    await Promise.all([fallback.load(), cpu.load()]);

    expect(fallback.info().device).toBe('cpu');
    expect(logger.warnings).toEqual([
      expect.stringMatching(/^CUDA execution provider files are not installed.*falling back to CPU/),
    ]);
    const [fromFallback] = allEmbedded(await fallback.embed(['hello there']));
    const [fromCpu] = allEmbedded(await cpu.embed(['hello there']));
    expect([...fromFallback]).toEqual([...fromCpu]);
    await Promise.all([fallback.close(), cpu.close()]);
  });

  withoutCudaFiles('falls back to the CPU file, not the CUDA variant (EMBEDDING_CUDA_MODEL_FILE)', async () => {
    const logger = new RecordingLogger();
    const options = { device: 'cuda' as const, fallbackToCpu: true, cudaModelFile: 'model_fp16.onnx', logger };
    const provider = new OnnxModel({ id: 'tiny', path: modelDir }, options);
    await provider.load();
    expect(provider.info()).toMatchObject({ device: 'cpu', dtype: 'float32' });
    expect(logger.warnings).toEqual([
      expect.stringMatching(/falling back to CPU with model\.onnx instead of model_fp16\.onnx as configured$/),
    ]);
    await provider.close();
  });

  it('refuses to start when the CUDA variant is missing, naming it, before trying the device', async () => {
    const provider = new OnnxModel(
      { id: 'tiny', path: modelDir },
      { device: 'cuda', cudaModelFile: 'model_bf16.onnx' },
    );
    const attempt = provider.load();
    await expect(attempt).rejects.toMatchObject({ code: EmbeddingErrorCode.ModelFilesUnavailable });
    await expect(attempt).rejects.toThrow(/Missing: \S+\/onnx\/model_bf16\.onnx, \S+\/model_bf16\.onnx\./);
  });
});
