import { InferenceClient } from '@huggingface/inference';
import { startTinyModelApp, TestApp } from './app';

// Hugging Face's own JavaScript client, given this service's base URL as a TEI endpoint's is given: it posts both
// tasks to `/`, as Inference Endpoints run TEI.

const TEXTS = ['The quick brown fox jumps over the lazy dog.', 'Embeddings are vectors.', 'hello'];

async function listen(t: TestApp): Promise<string> {
  return await t.listen();
}

describe('@huggingface/inference against the TEI-compatible routes (e2e)', () => {
  const KEY = 'hf-endpoint-key';
  let t: TestApp;
  let endpointUrl: string;
  const post = (path: string, body: object) => t.http().post(path).set('x-api-key', KEY).send(body).expect(200);

  beforeAll(async () => {
    t = await startTinyModelApp({ API_KEY: KEY, SENDER_ENABLED: 'false' });
    endpointUrl = await listen(t);
  });
  afterAll(() => t.close());

  it('featureExtraction answers what /embed answers, for one text and for several', async () => {
    const client = new InferenceClient(KEY);
    expect(await client.featureExtraction({ endpointUrl, inputs: TEXTS[0] })).toEqual(
      (await post('/embed', { inputs: TEXTS[0] })).body,
    );
    const batch = await client.endpoint(endpointUrl).featureExtraction({ inputs: TEXTS, normalize: false });
    expect(batch).toEqual((await post('/embed', { inputs: TEXTS, normalize: false })).body);
    expect(batch).toHaveLength(3);
  });

  it('sentenceSimilarity answers what /similarity answers', async () => {
    const inputs = { source_sentence: TEXTS[0], sentences: TEXTS };
    const scores = await new InferenceClient(KEY).endpoint(endpointUrl).sentenceSimilarity({ inputs });
    expect(scores).toEqual((await post('/similarity', { inputs })).body);
    expect(scores[0]).toBeCloseTo(1, 6);
  });

  it('fails without the key, with the status the service answered', async () => {
    const client = new InferenceClient();
    await expect(client.featureExtraction({ endpointUrl, inputs: 'x' })).rejects.toMatchObject({
      httpResponse: expect.objectContaining({ status: 401 }),
    });
  });
});
