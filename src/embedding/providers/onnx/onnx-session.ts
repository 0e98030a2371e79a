import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { messageOf } from '../../../common/message-of';
import { EmbeddingError, EmbeddingErrorCode } from '../../embedding.errors';
import { EmbeddingLogger, ExecutionDevice } from '../embedding-model';
import { RunnableSession, ThreadedSession } from './session-thread';

export interface SessionSettings {
  device: ExecutionDevice;
  /** CUDA device ordinal. Default 0. */
  deviceId?: number;
  /** When CUDA cannot start, log a warning and run on CPU instead of failing. */
  fallbackToCpu?: boolean;
  /** Threads one inference may use. Default: os.availableParallelism(). */
  intraOpNumThreads?: number;
}

export interface OnnxSession {
  /** On a thread of its own, so runs leave the event loop free (see ThreadedSession). */
  session: RunnableSession;
  device: ExecutionDevice;
  /** The file loaded: the CUDA variant on CUDA, the CPU one on CPU (also after a fallback). */
  path: string;
}

/** A model's ONNX file, and the variant it loads on CUDA where that differs (model_fp16.onnx, say). */
export interface OnnxPaths {
  cpu: string;
  cuda?: string;
}

type ExecutionProviders = InferenceSession.SessionOptions['executionProviders'];

const CUDA_INSTALL_HINT = 'reinstall with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci`';
const CUDA_RUNTIME_HINT = 'it needs an NVIDIA GPU with its driver, and the CUDA 12 and cuDNN 9 libraries';

export async function createOnnxSession(
  paths: OnnxPaths,
  settings: SessionSettings,
  logger?: EmbeddingLogger,
): Promise<OnnxSession> {
  if (settings.device === 'cpu') {
    const session = await ThreadedSession.create(paths.cpu, sessionOptions(settings, ['cpu']));
    return { session, device: 'cpu', path: paths.cpu };
  }
  const path = paths.cuda ?? paths.cpu;
  try {
    return { session: await createCudaSession(path, settings), device: 'cuda', path };
  } catch (error) {
    if (
      !settings.fallbackToCpu ||
      !(error instanceof EmbeddingError && error.code === EmbeddingErrorCode.DeviceUnavailable)
    ) {
      throw error;
    }
    const file = paths.cuda ? ` with ${basename(paths.cpu)} instead of ${basename(paths.cuda)}` : '';
    logger?.warn(`${error.message}; falling back to CPU${file} as configured`);
    return createOnnxSession(paths, { ...settings, device: 'cpu' }, logger);
  }
}

async function createCudaSession(onnxPath: string, settings: SessionSettings): Promise<RunnableSession> {
  const missingFiles = missingCudaProviderFiles();
  if (missingFiles.length > 0) {
    throw deviceUnavailable(
      `CUDA execution provider files are not installed (missing ${missingFiles.join(', ')}); ${CUDA_INSTALL_HINT}`,
    );
  }
  const deviceId = settings.deviceId ?? 0;
  try {
    return await ThreadedSession.create(onnxPath, sessionOptions(settings, [{ name: 'cuda', deviceId }]));
  } catch (error) {
    const reason = stripAnsi(messageOf(error));
    throw deviceUnavailable(
      `CUDA execution provider could not start on device ${deviceId} (${CUDA_RUNTIME_HINT}): ${reason}`,
    );
  }
}

/** onnxruntime-node ships CPU binaries only; its install script adds these beside the binding for CUDA. */
export function missingCudaProviderFiles(): string[] {
  const bindingDir = join(
    dirname(require.resolve('onnxruntime-node/package.json')),
    'bin/napi-v6',
    process.platform,
    process.arch,
  );
  const files =
    process.platform === 'win32'
      ? ['onnxruntime_providers_cuda.dll', 'onnxruntime_providers_shared.dll']
      : ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'];
  return files.map((file) => join(bindingDir, file)).filter((path) => !existsSync(path));
}

/** The options every session of the service gets (exported for benchmarks that open the same session). */
export function sessionOptions(
  settings: SessionSettings,
  providers: ExecutionProviders,
): InferenceSession.SessionOptions {
  return {
    executionProviders: providers,
    graphOptimizationLevel: 'all',
    intraOpNumThreads: settings.intraOpNumThreads ?? availableParallelism(),
    // One graph runs at a time per model (runs are serialised), so inter-op threads would only sit idle.
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // The memory pattern is a plan of the buffers one input shape needs, cached per shape; the service's batches vary
    // in shape, so each new one added a block the arena kept. Measured on the minilm model over eight batch shapes of
    // up to 8,192 tokens (2 cores): RSS 746-758 MiB with it, 513-547 MiB without, at the same speed (28.2 s vs 28.0 s
    // median of 3 rounds). onnxruntime's own advice for inputs of varying shape is to turn it off.
    enableMemPattern: false,
    // Idle pool threads sleep instead of spinning for work. Spinning only saves a wake-up between kernels, while it
    // burns the cores the event loop (tokenising the next batch) and PostgreSQL (claiming, storing) need meanwhile:
    // on 2 cores the tiny model embeds as fast without it, with a third less CPU, and the pipeline gets much faster.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

function deviceUnavailable(message: string): EmbeddingError {
  return new EmbeddingError(EmbeddingErrorCode.DeviceUnavailable, message);
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '').trim();
}
