import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BenchApp, startBenchApp } from '../lib/bench-app';
import { postJson } from '../lib/post-json';
import { Peer } from './peers';

/**
 * The service itself: the real app (createApp, loopback HTTP) serving the model twice from a models file, fp32
 * (`onnx/model.onnx`) and int8 (`onnx/model_quantized.onnx`); each pass is one POST /v1/embeddings of every text
 * with `encoding_format: base64` (what OpenAI's SDKs ask for), decoded here.
 */
export async function startService(
  modelDir: string,
  workDir: string,
  databaseUrl: string | undefined,
  log: (line: string) => void,
): Promise<{ app: BenchApp; peers: Peer[] }> {
  const modelsFile = join(workDir, 'models.yaml');
  const entry = (id: string, file: string) => `  - { id: ${id}, backend: onnx, source: ${modelDir}, file: ${file} }`;
  await writeFile(
    modelsFile,
    ['models:', entry('minilm-fp32', 'onnx/model.onnx'), entry('minilm-int8', 'onnx/model_quantized.onnx')].join('\n'),
  );
  const app = await startBenchApp({ env: { EMBEDDING_MODELS_FILE: modelsFile }, databaseUrl, log });
  const peer = (id: string, precision: 'fp32' | 'int8'): Peer => ({
    name: `service ${precision}`,
    precision,
    how: `POST /v1/embeddings {model: '${id}', input: texts, encoding_format: 'base64'}`,
    embed: async (texts) => {
      const body = { model: id, input: texts, encoding_format: 'base64' };
      const answer = await postJson<{ data: { index: number; embedding: string }[] }>(
        `${app.baseUrl}/v1/embeddings`,
        body,
      );
      return answer.data.sort((a, b) => a.index - b.index).map(({ embedding }) => decodeBase64(embedding));
    },
    dispose: async () => undefined,
  });
  return { app, peers: [peer('minilm-fp32', 'fp32'), peer('minilm-int8', 'int8')] };
}

function decodeBase64(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
