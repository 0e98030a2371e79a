import { TextTokenizer } from '../../src/embedding/providers/tokenizer/text-tokenizer';
import { truncateTokens } from '../../src/embedding/providers/tokenizer/tokenized-text';
import { ContenderTiming, timeInterleaved } from '../lib/interleave';
import { loadTransformersJsTokenizer } from './transformers-js';

export interface TokenizationResult {
  /** Each timed run tokenises the corpus this many times, so one run lasts long enough to time. */
  passesPerRun: number;
  native: TokenizationFigure;
  transformersJs: TokenizationFigure;
}

export interface TokenizationFigure {
  samplesSeconds: number[];
  /** From the median run. */
  chunksPerSecond: number;
  /** From the fastest run. */
  bestChunksPerSecond: number;
}

/**
 * The provider's tokenisation step (native `tokenizers` encodeBatch, then truncation) against transformers.js'
 * AutoTokenizer (JavaScript) with truncation to the same length and no padding: token ids for every text.
 */
export async function measureTokenization(
  tokenizerPath: string,
  modelDir: string,
  corpus: string[],
  maxLength: number,
  rounds: number,
  passesPerRun: number,
): Promise<TokenizationResult> {
  const native = TextTokenizer.fromFile(tokenizerPath);
  const javascript = await loadTransformersJsTokenizer(modelDir);
  const nativePass = async () => (await native.encode(corpus)).map((text) => truncateTokens(text, maxLength));
  const javascriptPass = async () =>
    javascript(corpus, { truncation: true, max_length: maxLength, padding: false, return_tensor: false });
  const repeat = (pass: () => Promise<unknown>) => async () => {
    for (let index = 0; index < passesPerRun; index++) {
      await pass();
    }
  };
  const [nativeTiming, javascriptTiming] = await timeInterleaved(
    [
      { name: 'native', warmUp: repeat(nativePass), run: repeat(nativePass) },
      { name: 'transformersJs', warmUp: repeat(javascriptPass), run: repeat(javascriptPass) },
    ],
    { rounds },
  );
  const figure = ({ samples, medianSeconds, bestSeconds }: ContenderTiming): TokenizationFigure => ({
    samplesSeconds: samples,
    chunksPerSecond: (corpus.length * passesPerRun) / medianSeconds,
    bestChunksPerSecond: (corpus.length * passesPerRun) / bestSeconds,
  });
  return { passesPerRun, native: figure(nativeTiming), transformersJs: figure(javascriptTiming) };
}
