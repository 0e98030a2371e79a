import { ensureModel } from './fixtures/model/make-model';
import { startTestApp, TestApp } from './app';

// Every request example of the embedding routes (src/api/embedding-api-examples.ts), sent as Swagger UI
// would send it, to an instance serving the tiny test model under the README model's name.

const MODEL = 'sentence-transformers/all-MiniLM-L6-v2';
const EMBEDDING_TAGS = ['embeddings', 'openai', 'tei'];

interface Operation {
  tags: string[];
  requestBody?: { content: Record<string, { examples?: Record<string, { value: object }> }> };
}

describe('Request examples of the embedding routes (e2e)', () => {
  let t: TestApp;
  let examples: { route: string; path: string; name: string; value: object }[];

  beforeAll(async () => {
    t = await startTestApp({ EMBEDDING_MODELS: `${MODEL}=${await ensureModel('tiny')}`, SENDER_ENABLED: 'false' });
    const doc = (await t.http().get('/apidocs-json').expect(200)).body as {
      paths: Record<string, Record<string, Operation>>;
    };
    examples = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, operation]) => EMBEDDING_TAGS.includes(operation.tags[0]) && operation.requestBody)
        .flatMap(([method, operation]) =>
          Object.entries(operation.requestBody!.content['application/json'].examples ?? {}).map(
            ([name, { value }]) => ({
              route: `${method.toUpperCase()} ${path}`,
              path,
              name,
              value,
            }),
          ),
        ),
    );
  });
  afterAll(() => t.close());

  it('has examples on every embedding route that takes a body', () => {
    const routes = new Set(examples.map(({ route }) => route));
    expect([...routes].sort()).toEqual(
      [
        'POST /',
        'POST /decode',
        'POST /embed',
        'POST /embed_all',
        'POST /embed_sparse',
        'POST /embeddings',
        'POST /embeddings/batch',
        'POST /embeddings/single',
        'POST /invocations',
        'POST /similarity',
        'POST /tokenize',
        'POST /v1/embeddings',
      ].sort(),
    );
  });

  it('answers each example: 200, except what this test model cannot do', async () => {
    const answers = [];
    for (const { route, path, name, value } of examples) {
      const res = await t.http().post(path).send(value);
      answers.push({ example: `${route} ${name}`, status: res.status, body: res.status === 200 ? 'ok' : res.body });
    }
    // BERT's ids (7592 "hello") are outside the test model's 1,024-word vocabulary: refused by the model, not by
    // validation, which shows they are well formed. No SPLADE model is served anywhere, so /embed_sparse is TEI's 424.
    const expected = (example: string, status = 200, body: unknown = 'ok') => ({ example, status, body });
    const vocabulary = expect.stringContaining('token id 7592 is not in the vocabulary');
    expect(answers).toEqual(
      examples.map(({ route, name }) => {
        const example = `${route} ${name}`;
        if (route === 'POST /embed_sparse')
          return expected(example, 424, expect.objectContaining({ error_type: 'Backend' }));
        if (name === 'tokens' && route.includes('embeddings')) {
          return expected(example, 400, { error: expect.objectContaining({ message: vocabulary, param: 'input' }) });
        }
        if (name === 'tokens' || route === 'POST /decode') {
          return expected(example, 422, { error: vocabulary, error_type: 'Validation' });
        }
        return expected(example);
      }),
    );
  });
});
