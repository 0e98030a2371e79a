import { TextTokenizer } from '../../src/embedding/text-tokenizer';
import { makeCorpus } from '../lib/corpus';
async function main() {
  const dir = '/work/main/.cache/models/minilm';
  const corpus = makeCorpus({ texts: 192, minWords: 5, maxWords: 180, seed: 20240611 });
  const time = async (name: string, f: () => Promise<unknown>) => {
    const xs = [];
    for (let r = 0; r < 15; r++) { const t = performance.now(); await f(); xs.push(performance.now() - t); }
    xs.sort((a, b) => a - b);
    console.log(name.padEnd(30), xs[7].toFixed(2), 'ms');
  };
  const fast = TextTokenizer.fromFile(dir + '/tokenizer.json');
  const nat = TextTokenizer.fromFile(dir + '/tokenizer.json', { fastPath: false });
  await time('native', () => nat.encode(corpus));
  await time('fast', () => fast.encode(corpus));
  const { AutoTokenizer } = await import('@huggingface/transformers');
  const tjs: any = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
  await time('tjs', async () => tjs(corpus, { truncation: true, max_length: 256, padding: false, return_tensor: false }));
}
main();
