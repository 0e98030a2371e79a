import { readFileSync } from 'node:fs';
import { Tokenizer } from 'tokenizers';
import { makeCorpus } from '../lib/corpus';

async function main() {
  const dir = '/work/main/.cache/models/minilm';
  const corpus = makeCorpus({ texts: 192, minWords: 5, maxWords: 180, seed: 20240611 });
  const json = JSON.parse(readFileSync(dir + '/tokenizer.json', 'utf8'));
  const variants: Record<string, any> = {
    full: json,
    noNormalizer: { ...json, normalizer: null },
    lowercaseOnly: { ...json, normalizer: { ...json.normalizer, strip_accents: false, clean_text: false, handle_chinese_chars: false } },
    noPost: { ...json, post_processor: null },
    wsPre: { ...json, pre_tokenizer: { type: 'WhitespaceSplit' } },
  };
  const lower = corpus.map((t) => t.toLowerCase());
  for (const [name, j] of Object.entries(variants)) {
    const tok = Tokenizer.fromString(JSON.stringify(j));
    const xs = [];
    for (let r = 0; r < 7; r++) { const t = performance.now(); await tok.encodeBatch(name === 'noNormalizer' ? lower : corpus); xs.push(performance.now() - t); }
    xs.sort((a, b) => a - b);
    console.log(name.padEnd(20), xs[3].toFixed(1), 'ms');
  }
}
main();
