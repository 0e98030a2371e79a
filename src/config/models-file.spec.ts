import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProjectRoot, InvalidConfigError, loadConfig } from './config.loader';
import { configuredModelIds, pricePerMillionTokens } from './app-config';

describe('EMBEDDING_MODELS_FILE', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'models-file-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function file(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }
  const load = (path: string, env: Record<string, string> = {}) => loadConfig({ EMBEDDING_MODELS_FILE: path, ...env });

  const THREE_BACKENDS = `
models:
  - id: minilm
    backend: onnx
    source: sentence-transformers/all-MiniLM-L6-v2@abc123
    file: onnx/model_quantized.onnx
    price_per_million_tokens: 0
  - id: bge-large
    backend: tei
    url: http://gpu-node:8080
    model: BAAI/bge-large-en-v1.5
    api_key_file: tei.key
  - id: text-embedding-3-small
    backend: openai
    url: https://api.openai.com/v1
    api_key_env: OPENAI_API_KEY
    dimensions: 512
    budget:
      requests_per_minute: 3000
      tokens_per_minute: 1000000
    price_per_million_tokens: 0.02
`;

  it('reads three back ends, with the defaults filled in and the keys read from a variable and a file', () => {
    file('tei.key', 'tei-secret\n');
    const config = load(file('models.yaml', THREE_BACKENDS), { OPENAI_API_KEY: 'sk-test', TEI_TIMEOUT_MS: '5000' });
    const [onnx, tei, openai] = config.embedding.modelsFile;
    expect(onnx).toEqual({
      id: 'minilm',
      backend: 'onnx',
      pricePerMillionTokens: 0,
      source: { id: 'minilm', hubId: 'sentence-transformers/all-MiniLM-L6-v2', revision: 'abc123' },
      modelFile: 'onnx/model_quantized.onnx',
      device: 'cpu',
      deviceId: 0,
    });
    expect(tei).toMatchObject({
      id: 'bge-large',
      backend: 'tei',
      url: 'http://gpu-node:8080',
      model: 'BAAI/bge-large-en-v1.5',
      apiKey: 'tei-secret',
      timeoutMs: 5000,
      maxAttempts: 4,
    });
    expect(openai).toMatchObject({
      id: 'text-embedding-3-small',
      backend: 'openai',
      model: 'text-embedding-3-small',
      apiKey: 'sk-test',
      dimensions: 512,
      supportsDimensions: true,
      maxInputs: 256,
      budget: { requestsPerMinute: 3000, tokensPerMinute: 1000000, concurrency: 4 },
      pricePerMillionTokens: 0.02,
    });
    expect(configuredModelIds(config)).toEqual(['minilm', 'bge-large', 'text-embedding-3-small']);
    expect(pricePerMillionTokens(config, 'text-embedding-3-small')).toBe(0.02);
    expect(pricePerMillionTokens(config, 'bge-large')).toBeUndefined();
  });

  it('reads JSON, and serves the file beside EMBEDDING_MODELS, relative folders taken from the file', () => {
    const path = file(
      'models.json',
      JSON.stringify({ models: [{ id: 'local', backend: 'onnx', source: './models/tiny', device: 'cuda' }] }),
    );
    const config = load(path, { EMBEDDING_MODELS: 'a/b' });
    expect(config.embedding.modelsFile[0]).toMatchObject({ source: { id: 'local', path: join(dir, 'models/tiny') } });
    expect(configuredModelIds(config)).toEqual(['a/b', 'local']);
  });

  it.each([
    ['models: []\nextra: 1', /unknown top-level field extra/],
    ['- id: x', /must be a mapping with a `models:` list/],
    ['models: [1]', /models\[0\] must be a mapping/],
    ['models:\n  - backend: onnx', /models\[0\]: id is required/],
    ['models:\n  - {id: a, backend: gpu}', /models\[0\] "a": backend must be one of: onnx, tei, openai \(got "gpu"\)/],
    ['models:\n  - {id: a, backend: openai}', /models\[0\] "a": url is required for openai/],
    ['models:\n  - {id: a, backend: onnx, url: "http://x"}', /models\[0\] "a": url does not apply to backend onnx/],
    ['models:\n  - {id: a/b, backend: onnx, colour: red}', /models\[0\] "a\/b": colour: unknown field/],
    ['models:\n  - {id: a/b, backend: onnx, file: model.bin}', /"a\/b": file must name an \.onnx file/],
    [
      'models:\n  - {id: r, backend: openai, url: "http://x", budget: {tokens_per_minute: -5}}',
      /models\[0\] "r": budget\.tokens_per_minute must be an integer >= 1 \(got -5\)/,
    ],
    [
      'models:\n  - {id: r, backend: openai, url: "http://x", api_key_env: NOPE_KEY}',
      /api_key_env names NOPE_KEY, which is not set/,
    ],
    [
      'models:\n  - {id: a/b, backend: onnx}\n  - {id: a/b, backend: onnx}',
      /models\[1\] "a\/b": id is already used by models\[0\]/,
    ],
    ['models:\n  - {id: plain, backend: onnx}', /"plain": id \(the source when none is given\) must be owner\/name/],
    ['models: [', /cannot be parsed/],
  ])('refuses %j, naming the entry and the field', (text, message) => {
    const path = file('bad.yaml', text);
    expect(() => load(path)).toThrow(InvalidConfigError);
    expect(() => load(path)).toThrow(message);
  });

  it('reports every problem at once, and never echoes a key', () => {
    const path = file(
      'two.yaml',
      'models:\n  - {id: a, backend: openai, url: "ftp://x", api_key_env: KEY}\n  - {id: b, backend: tei, max_inputs: 3, url: "http://y"}',
    );
    const error = (() => {
      try {
        load(path, { KEY: 'sk-very-secret' });
      } catch (caught) {
        return caught as Error;
      }
    })()!;
    expect(error.message).toMatch(/models\[0\] "a": url must be an http/);
    expect(error.message).toMatch(/models\[1\] "b": max_inputs does not apply to backend tei/);
    expect(error.message).not.toContain('sk-very-secret');
  });

  it('refuses a missing file and a model named both in EMBEDDING_MODELS and the file', () => {
    expect(() => load(join(dir, 'absent.yaml'))).toThrow(/absent\.yaml: no such file/);
    const path = file('dup.yaml', 'models:\n  - {id: a/b, backend: onnx}');
    expect(() => load(path, { EMBEDDING_MODELS: 'a/b' })).toThrow(
      /"a\/b" is both in EMBEDDING_MODELS and in EMBEDDING_MODELS_FILE/,
    );
  });

  it('loads the example of docs/models.md, three back ends', () => {
    const doc = readFileSync(join(findProjectRoot(), 'docs', 'models.md'), 'utf8');
    const section = doc.split('## Several back ends')[1];
    const example = /```yaml\n([\s\S]*?)```/.exec(section)![1];
    const config = load(file('readme.yaml', example), { OPENAI_API_KEY: 'sk-test' });
    expect(config.embedding.modelsFile.map((entry) => entry.backend)).toEqual(['onnx', 'tei', 'openai']);
  });
});
