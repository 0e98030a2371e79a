import { ensureModel } from '../../test/fixtures/model/make-model';
import { OnnxModel } from '../embedding/providers/onnx/onnx-model';
import { JSON_NUMBER_BYTES, tokenBound, tokensAnswerBytes, tokenVectorsAnswerBytes } from './answer-size';

// The bounds refuse an answer before it is built, so they must never fall below what the model really makes.

const TEXTS = [
  'The quick brown fox jumps over the lazy dog.',
  'unbelievably antidisestablishmentarianism',
  'café naïve façade résumé',
  '東京都の天気は晴れです',
  '😀🎉 emoji 👍🏽',
  'a'.repeat(500),
  '\u0000\u0001 control "quotes" \\ backslash',
];

describe('answer sizes', () => {
  let model: OnnxModel;
  beforeAll(async () => {
    model = new OnnxModel({ id: 'tiny', path: await ensureModel('tiny') }, { intraOpNumThreads: 1 });
    await model.load();
  });
  afterAll(() => model.close());

  it.each(TEXTS.map((text) => [text.slice(0, 40), text]))('bounds the tokens of %j from above', async (_, text) => {
    const [tokens] = await model.tokenize([text]);
    expect(tokens.length).toBeLessThanOrEqual(tokenBound(text, model.info()));
  });

  it("bounds /tokenize's JSON answer from above", async () => {
    const tokens = await model.tokenize(TEXTS);
    expect(JSON.stringify(tokens).length).toBeLessThanOrEqual(tokensAnswerBytes(TEXTS, model.info()));
  });

  it("bounds /embed_all's JSON answer from above, texts cut to the model's limit", async () => {
    const { vectors } = await model.embedTokens(TEXTS);
    const answer = JSON.stringify(vectors.map((tokens) => tokens!.map((vector) => Array.from(vector))));
    const bound = tokenVectorsAnswerBytes(TEXTS, model.info());
    expect(answer.length).toBeLessThanOrEqual(bound);
    // Tight enough to be useful: within a factor of 2 of the answer's real size for texts over the limit.
    const long = ['a '.repeat(200), 'b '.repeat(300)];
    const { vectors: longVectors } = await model.embedTokens(long);
    const longAnswer = JSON.stringify(longVectors.map((tokens) => tokens!.map((vector) => Array.from(vector))));
    expect(tokenVectorsAnswerBytes(long, model.info())).toBeLessThan(2 * longAnswer.length);
  });

  it('counts a JSON number at its longest printed form', () => {
    const longest = JSON.stringify(Array.from(new Float32Array([-1.2345678e-7, -0.12345678])));
    expect((longest.length - 1) / 2).toBeLessThanOrEqual(JSON_NUMBER_BYTES);
  });
});
