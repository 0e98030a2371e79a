import { Tokenizer } from 'tokenizers';
import { makeCorpus } from '../lib/corpus';

async function main() {
  const dir = '/work/main/.cache/models/minilm';
  const corpus = makeCorpus({ texts: 192, minWords: 5, maxWords: 180, seed: 20240611 });
  const tok = Tokenizer.fromFile(dir + '/tokenizer.json');
  tok.disableTruncation(); tok.disablePadding();
  for (let r = 0; r < 3; r++) {
    let t = performance.now();
    const enc = await tok.encodeBatch(corpus);
    const tBatch = performance.now() - t;
    t = performance.now();
    const ids = enc.map((e) => e.getIds());
    const tIds = performance.now() - t;
    t = performance.now();
    const types = enc.map((e) => e.getTypeIds());
    const tTypes = performance.now() - t;
    t = performance.now();
    const sp = enc.map((e) => e.getSpecialTokensMask());
    const tSp = performance.now() - t;
    t = performance.now();
    for (const text of corpus) await tok.encode(text);
    const tSingle = performance.now() - t;
    t = performance.now();
    await Promise.all(corpus.map((text) => tok.encode(text)));
    const tPar = performance.now() - t;
    console.log({ tBatch, tIds, tTypes, tSp, tSingle, tPar });
  }
}
main();
