import { Tokenizer } from 'tokenizers';
import { makeCorpus } from '../lib/corpus';

async function main() {
  const dir = '/work/main/.cache/models/minilm';
  const corpus = makeCorpus({ texts: 192, minWords: 5, maxWords: 180, seed: 20240611 });
  const tok = Tokenizer.fromFile(dir + '/tokenizer.json');
  tok.disableTruncation(); tok.disablePadding();
  const time = async (name: string, f: () => Promise<unknown>) => {
    const xs = [];
    for (let r = 0; r < 7; r++) { const t = performance.now(); await f(); xs.push(performance.now() - t); }
    xs.sort((a, b) => a - b);
    console.log(name.padEnd(30), xs[3].toFixed(1), 'ms');
  };
  await time('encodeBatch', () => tok.encodeBatch(corpus));
  await time('encodeBatch no special', () => tok.encodeBatch(corpus, { addSpecialTokens: false }));
  await time('2 halves', () => Promise.all([tok.encodeBatch(corpus.slice(0, 96)), tok.encodeBatch(corpus.slice(96))]));
  await time('4 quarters', () => Promise.all([0, 1, 2, 3].map((q) => tok.encodeBatch(corpus.slice(q * 48, q * 48 + 48)))));
  const enc = await tok.encodeBatch(corpus);
  await time('getIds', async () => enc.map((e) => e.getIds()));
  await time('getLength', async () => enc.map((e) => e.getLength()));
  const norm = tok.getNormalizer()!;
  await time('normalize only (sync, 1 thread)', async () => corpus.map((t) => norm.normalizeString(t)));
  const pre = tok.getPreTokenizer()!;
  await time('pretokenize only (sync)', async () => corpus.map((t) => pre.preTokenizeString(t)));
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  const tjs: any = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
  await time('tjs', async () => tjs(corpus, { truncation: true, max_length: 256, padding: false, return_tensor: false }));
  await time('tjs encode only', async () => corpus.map((t) => tjs._tokenizer.encode(t)));
}
main();
