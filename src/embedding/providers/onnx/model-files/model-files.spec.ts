import { cp, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { EmbeddingErrorCode } from '../../../embedding.errors';
import { allEmbedded, EmbedOptions } from '../../embedding-model';
import { OnnxModel } from '../onnx-model';
import { ensureModel } from '../../../../../test/fixtures/model/make-model';
import { OnnxGraphBuilder } from '../../../../../test/fixtures/model/onnx-graph-builder';
import { encodeOnnxModel, OnnxDataType } from '../../../../../test/fixtures/model/onnx-proto';
import {
  maxAbsDifference,
  openRawSession,
  rawTokenVectors,
  unitLength,
} from '../../../../../test/fixtures/model/reference-embeddings';

const TOLERANCE = 1e-5;
/** `[CLS] hello there [SEP]` in the tiny vocabulary. */
const HELLO_THERE_IDS = [2, 150, 84, 908, 179, 3];

describe('model folder variants', () => {
  let tinyDir: string;
  let workDir: string;
  let rawSession: InferenceSession;
  const providers: OnnxModel[] = [];

  beforeAll(async () => {
    tinyDir = await ensureModel('tiny');
    workDir = await mkdtemp(join(tmpdir(), 'model-variants-'));
    rawSession = await openRawSession(tinyDir);
  });

  afterAll(async () => {
    await Promise.all(providers.map((provider) => provider.close()));
    await rawSession.release();
    await rm(workDir, { recursive: true, force: true });
  });

  /** A copy of the tiny model with some JSON files replaced (null deletes the file). */
  async function variant(name: string, files: Record<string, unknown>): Promise<string> {
    const dir = join(workDir, name);
    await cp(tinyDir, dir, { recursive: true });
    for (const [file, content] of Object.entries(files)) {
      await (content === null ? rm(join(dir, file)) : writeFile(join(dir, file), JSON.stringify(content)));
    }
    return dir;
  }

  async function startProvider(path: string, modelFile?: string): Promise<OnnxModel> {
    const provider = new OnnxModel({ id: 'variant', path, modelFile }, { intraOpNumThreads: 1 });
    providers.push(provider);
    await provider.load();
    return provider;
  }

  async function embed(provider: OnnxModel, texts: string[], options?: EmbedOptions) {
    return allEmbedded(await provider.embed(texts, options));
  }

  async function poolingVariant(flag: string): Promise<string> {
    const pooling = JSON.parse(await readFile(join(tinyDir, '1_Pooling/config.json'), 'utf8'));
    return variant(flag, { '1_Pooling/config.json': { ...pooling, pooling_mode_mean_tokens: false, [flag]: true } });
  }

  it('pools the [CLS] vector when 1_Pooling asks for cls', async () => {
    const provider = await startProvider(await poolingVariant('pooling_mode_cls_token'));
    const [vector] = await embed(provider, ['hello there']);
    const tokens = await rawTokenVectors(rawSession, HELLO_THERE_IDS);
    expect(provider.info().pooling).toBe('cls');
    expect(maxAbsDifference(vector, unitLength(tokens[0]))).toBeLessThan(TOLERANCE);
  });

  it('pools the last real token, not padding, when 1_Pooling asks for lasttoken', async () => {
    const provider = await startProvider(await poolingVariant('pooling_mode_lasttoken'));
    const [vector] = await embed(provider, ['hello there', 'a longer text pads the first one']);
    const tokens = await rawTokenVectors(rawSession, HELLO_THERE_IDS);
    expect(maxAbsDifference(vector, unitLength(tokens[tokens.length - 1]))).toBeLessThan(TOLERANCE);
  });

  it('does not normalise when modules.json lists no Normalize module', async () => {
    const modules = JSON.parse(await readFile(join(tinyDir, 'modules.json'), 'utf8')) as Array<{ type: string }>;
    const withoutNormalize = modules.filter((module) => !module.type.endsWith('Normalize'));
    const provider = await startProvider(await variant('no-normalize', { 'modules.json': withoutNormalize }));
    const [vector] = await embed(provider, ['hello there']);
    expect(provider.info().normalize).toBe(false);
    expect(Math.abs(Math.hypot(...vector) - 1)).toBeGreaterThan(0.01);
  });

  it('applies default_prompt_name unless the request overrides it', async () => {
    const config = { prompts: { query: 'query: ' }, default_prompt_name: 'query' };
    const provider = await startProvider(
      await variant('default-prompt', { 'config_sentence_transformers.json': config }),
    );
    const [byDefault, named, plain, explicit] = [
      ...(await embed(provider, ['hello there'])),
      ...(await embed(provider, ['hello there'], { promptName: 'query' })),
      ...(await embed(provider, ['hello there'], { prompt: '' })),
      ...(await embed(provider, ['query: hello there'], { prompt: '' })),
    ];
    expect(maxAbsDifference(byDefault, named)).toBeLessThan(TOLERANCE);
    expect(maxAbsDifference(byDefault, explicit)).toBeLessThan(TOLERANCE);
    expect(maxAbsDifference(byDefault, plain)).toBeGreaterThan(1e-3);
  });

  it('loads a configured ONNX variant file name', async () => {
    const dir = await variant('quantized', {});
    await rename(join(dir, 'onnx/model.onnx'), join(dir, 'onnx/model_quantized.onnx'));
    const provider = await startProvider(dir, 'model_quantized.onnx');
    expect(await embed(provider, ['hello'])).toHaveLength(1);
  });

  it('names every path it looked for when the ONNX file is missing', async () => {
    const dir = await variant('missing-onnx', {});
    const attempt = startProvider(dir, 'model_bf16.onnx');
    await expect(attempt).rejects.toMatchObject({ code: EmbeddingErrorCode.ModelFilesUnavailable });
    await expect(attempt).rejects.toThrow(`${dir}/onnx/model_bf16.onnx, ${dir}/model_bf16.onnx`);
  });

  it.each([
    [
      'a Dense module',
      { 'modules.json': [{ idx: 0, name: '0', path: '2_Dense', type: 'sentence_transformers.models.Dense' }] },
      'modules.json lists modules this runtime cannot run: sentence_transformers.models.Dense',
    ],
    [
      'max pooling',
      { '1_Pooling/config.json': { pooling_mode_max_tokens: true } },
      'only exactly one of mean, cls or lasttoken pooling',
    ],
  ])('refuses %s, which it cannot reproduce', async (name, files, reason) => {
    const provider = new OnnxModel({ id: 'variant', path: await variant(name, files) });
    await expect(provider.load()).rejects.toMatchObject({ code: EmbeddingErrorCode.UnsupportedModel });
    expect(await provider.readiness()).toEqual({
      id: 'variant',
      loaded: false,
      warmedUp: false,
      error: expect.stringContaining(reason),
    });
  });

  it('uses a graph’s own sentence_embedding output as it is', async () => {
    const dir = await variant('pooled-graph', { 'modules.json': [], '1_Pooling/config.json': null });
    await writeFile(join(dir, 'onnx/model.onnx'), firstTokenIdGraph());
    const provider = await startProvider(dir);
    const [vector] = await embed(provider, ['hello there']);
    expect(provider.info()).toMatchObject({
      pooling: 'sentence_embedding',
      dimensions: 2,
      normalize: false,
    });
    expect([...vector]).toEqual([2, 3]);
  });
});

/** sentence_embedding = [first id, last id] as floats: pooling happens inside the graph. */
function firstTokenIdGraph(): Buffer {
  const graph = new OnnxGraphBuilder('pooled');
  const ids = graph.input('input_ids', OnnxDataType.Int64, ['batch', 'seq']);
  graph.input('attention_mask', OnnxDataType.Int64, ['batch', 'seq']);
  const columns = graph.int64s('columns', [0, -1]);
  const picked = graph.node('Gather', [ids, columns], 'picked', { axis: 1 });
  graph.node('Cast', [picked], 'sentence_embedding', { to: OnnxDataType.Float });
  graph.output('sentence_embedding', OnnxDataType.Float, ['batch', 2]);
  return encodeOnnxModel({ irVersion: 8, opsetVersion: 17, producerName: 'test', graph: graph.build() });
}
