import { readFileSync } from 'node:fs';
import { FastWordPiece } from '../../src/embedding/fast-wordpiece';
import { TextTokenizer } from '../../src/embedding/text-tokenizer';
async function main() {
  const path = '/work/main/.cache/models/minilm/tokenizer.json';
  const json = JSON.parse(readFileSync(path, 'utf8'));
  const fast = FastWordPiece.fromJson(json)!;
  const native = TextTokenizer.fromFile(path, { fastPath: false });
  const bad: string[] = [];
  for (let code = 0; code <= 0x206f; code++) {
    if (code > 0x24f && code < 0x2000) continue;
    const texts = [String.fromCharCode(code), `a${String.fromCharCode(code)}b`];
    const n = await native.encode(texts);
    texts.forEach((t, i) => { if (JSON.stringify(fast.encode(t)) !== JSON.stringify(n[i])) bad.push(code.toString(16) + (i ? ' ctx' : '') + ' fast=' + JSON.stringify(fast.encode(t).ids) + ' native=' + JSON.stringify(n[i].ids)); });
  }
  console.log(bad.join('\n'));
}
main();
