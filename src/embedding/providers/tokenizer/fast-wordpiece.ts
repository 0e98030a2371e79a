import type { TokenizedText } from './tokenized-text';

/**
 * BERT's tokenizer (BertNormalizer, BertPreTokenizer, WordPiece, a [CLS] … [SEP] template) in JavaScript, for texts
 * made only of characters whose handling is known exactly: every character of Latin-1, Latin Extended-A/B and
 * General Punctuation, each classified once at load. The native tokenizer spends most of its time building offsets,
 * alignments and strings that embedding never reads, and hands every value across N-API one at a time; this path
 * skips all that and caches each word's pieces. Any other text, any other tokenizer type, and any text containing an
 * added token's content go to the native tokenizer. A test checks every supported character against it.
 */
export class FastWordPiece {
  private readonly pieceCache = new Map<string, number[]>();

  private constructor(
    private readonly chars: CharTable,
    private readonly model: WordPieceModel,
    private readonly template: SingleTemplate,
    private readonly addedTokens: { exact: string[]; normalized: string[] },
  ) {}

  /** Undefined when the tokenizer is not one this path reproduces exactly. */
  static fromJson(json: TokenizerJson): FastWordPiece | undefined {
    const normalizer = bertNormalizerOf(json.normalizer);
    const model = wordPieceOf(json.model);
    const template = singleTemplateOf(json.post_processor);
    if (!normalizer || !model || !template || json.pre_tokenizer?.type !== 'BertPreTokenizer') {
      return undefined;
    }
    const chars = buildCharTable(normalizer);
    const added = (json.added_tokens ?? []).filter(({ content }) => content !== '');
    const matchedAfterNormalizing = added.filter((token) => token.normalized).map(({ content }) => content);
    if (!matchedAfterNormalizing.every((content) => coversChars(chars, content))) {
      return undefined;
    }
    const addedTokens = {
      exact: added.map(({ content }) => content),
      normalized: matchedAfterNormalizing.map((content) => normalizeText(chars, content)),
    };
    return new FastWordPiece(chars, model, template, addedTokens);
  }

  /** Whether `encode` gives exactly what the native tokenizer would. */
  supports(text: string): boolean {
    if (!coversChars(this.chars, text)) {
      return false;
    }
    // Added tokens are matched in the raw text, or in the normalised text when flagged `normalized`.
    const { exact, normalized } = this.addedTokens;
    if (exact.some((token) => text.includes(token))) {
      return false;
    }
    return normalized.length === 0 || !normalized.some((token) => normalizeText(this.chars, text).includes(token));
  }

  /** Only for texts `supports` accepts. */
  encode(text: string): TokenizedText {
    const pieces: number[] = [];
    for (const word of this.words(text)) {
      for (const id of this.piecesOf(word)) {
        pieces.push(id);
      }
    }
    return this.template.apply(pieces);
  }

  /** Normalised, split on whitespace, punctuation marks isolated: BertNormalizer then BertPreTokenizer. */
  private words(text: string): string[] {
    const normalized = normalizeText(this.chars, text);
    const { kinds } = this.chars;
    const words: string[] = [];
    let start = 0;
    for (let index = 0; index < normalized.length; index++) {
      const kind = kinds[normalized.charCodeAt(index)];
      if (kind === CharKind.Word) {
        continue;
      }
      if (start < index) {
        words.push(normalized.slice(start, index));
      }
      if (kind === CharKind.Punctuation) {
        words.push(normalized[index]);
      }
      start = index + 1;
    }
    if (start < normalized.length) {
      words.push(normalized.slice(start));
    }
    return words;
  }

  private piecesOf(word: string): number[] {
    let pieces = this.pieceCache.get(word);
    if (pieces === undefined) {
      pieces = wordPieces(word, this.model);
      if (this.pieceCache.size >= PIECE_CACHE_LIMIT) {
        this.pieceCache.clear();
      }
      this.pieceCache.set(word, pieces);
    }
    return pieces;
  }
}

/** The parts of tokenizer.json this path reads. */
export interface TokenizerJson {
  added_tokens?: Array<{ content: string; normalized?: boolean }>;
  normalizer?: { type?: string; [key: string]: unknown } | null;
  pre_tokenizer?: { type?: string } | null;
  post_processor?: { type?: string; [key: string]: unknown } | null;
  model?: { type?: string; [key: string]: unknown };
}

/** Bounds memory on endless streams of distinct words; hit rates stay high for real text long before this. */
const PIECE_CACHE_LIMIT = 100_000;

/**
 * Latin-1, Latin Extended-A/B (U+0000–U+024F) and General Punctuation (U+2000–U+206F), unassigned code points
 * excepted. Beyond these, Unicode versions, special casing and CJK handling could make JavaScript and the native
 * tokenizer disagree.
 */
const SUPPORTED_RANGES: Array<[number, number]> = [
  [0x0000, 0x024f],
  [0x2000, 0x206f],
];

enum CharKind {
  Word,
  Whitespace,
  Punctuation,
}

interface CharTable {
  /** Per UTF-16 code: what the normaliser turns the character into; undefined outside the supported ranges. */
  mapped: Array<string | undefined>;
  /** Per UTF-16 code: 1 when the normaliser only lowercases it (or, without lowercasing, keeps it). */
  plain: Uint8Array;
  lowercase: boolean;
  /** Per UTF-16 code of a normalised character: how the pre-tokenizer treats it. */
  kinds: Uint8Array;
}

interface BertNormalizerSettings {
  cleanText: boolean;
  stripAccents: boolean;
  lowercase: boolean;
}

function bertNormalizerOf(normalizer: TokenizerJson['normalizer']): BertNormalizerSettings | undefined {
  if (normalizer === null || normalizer === undefined) {
    return { cleanText: false, stripAccents: false, lowercase: false };
  }
  if (normalizer.type !== 'BertNormalizer') {
    return undefined;
  }
  const lowercase = normalizer.lowercase !== false;
  const stripAccents = typeof normalizer.strip_accents === 'boolean' ? normalizer.strip_accents : lowercase;
  return { cleanText: normalizer.clean_text !== false, stripAccents, lowercase };
}

function buildCharTable(settings: BertNormalizerSettings): CharTable {
  const mapped: Array<string | undefined> = new Array(SUPPORTED_RANGES[SUPPORTED_RANGES.length - 1][1] + 1);
  const plain = new Uint8Array(mapped.length);
  const kinds = new Uint8Array(0x10000);
  for (const [first, last] of SUPPORTED_RANGES) {
    for (let code = first; code <= last; code++) {
      const char = String.fromCharCode(code);
      // Unassigned code points (U+2065): Unicode versions disagree on them, so the native tokenizer decides.
      if (/\p{Cn}/u.test(char)) {
        continue;
      }
      const normalized = normalizeChar(char, settings);
      mapped[code] = normalized;
      plain[code] = normalized === (settings.lowercase ? char.toLowerCase() : char) ? 1 : 0;
      for (const part of normalized) {
        kinds[part.charCodeAt(0)] = kindOf(part);
      }
    }
  }
  return { mapped, plain, lowercase: settings.lowercase, kinds };
}

function coversChars({ mapped }: CharTable, text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code >= mapped.length || mapped[code] === undefined) {
      return false;
    }
  }
  return true;
}

/** Most texts hold only characters the normaliser merely lowercases (or keeps): one native call does them. */
function normalizeText({ mapped, plain, lowercase }: CharTable, text: string): string {
  for (let index = 0; index < text.length; index++) {
    if (!plain[text.charCodeAt(index)]) {
      return Array.from(text, (char) => mapped[char.charCodeAt(0)]).join('');
    }
  }
  return lowercase ? text.toLowerCase() : text;
}

/** BertNormalizer on one character, in its order: clean text, (CJK spacing: none here), strip accents, lowercase. */
function normalizeChar(char: string, { cleanText, stripAccents, lowercase }: BertNormalizerSettings): string {
  let result = char;
  if (cleanText) {
    const isTabOrNewline = char === '\t' || char === '\n' || char === '\r';
    if (char === '\u0000' || char === '\ufffd' || (!isTabOrNewline && /\p{C}/u.test(char))) {
      return '';
    }
    result = isTabOrNewline || /\p{White_Space}/u.test(char) ? ' ' : char;
  }
  if (stripAccents) {
    result = result.normalize('NFD').replace(/\p{Mn}/gu, '');
  }
  return lowercase ? [...result].map((part) => part.toLowerCase()).join('') : result;
}

/** BertPreTokenizer: Rust's char::is_whitespace splits, ASCII or Unicode punctuation stands alone. */
function kindOf(char: string): CharKind {
  if (/\p{White_Space}/u.test(char)) {
    return CharKind.Whitespace;
  }
  return /[!-\/:-@\[-`{-~]|\p{P}/u.test(char) ? CharKind.Punctuation : CharKind.Word;
}

interface WordPieceModel {
  vocab: Map<string, number>;
  unkId: number;
  prefix: string;
  maxInputChars: number;
  /** No vocabulary entry is longer (prefix excluded), so longer candidates need no lookup. */
  longestPiece: number;
}

function wordPieceOf(model: TokenizerJson['model']): WordPieceModel | undefined {
  if (model?.type !== 'WordPiece' || typeof model.vocab !== 'object' || model.vocab === null) {
    return undefined;
  }
  const vocab = new Map(Object.entries(model.vocab as Record<string, number>));
  const unkId = vocab.get(String(model.unk_token ?? '[UNK]'));
  if (unkId === undefined) {
    return undefined;
  }
  const prefix = typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '##';
  const maxInputChars = typeof model.max_input_chars_per_word === 'number' ? model.max_input_chars_per_word : 100;
  const longestPiece = Math.max(...[...vocab.keys()].map((token) => [...token].length));
  return { vocab, unkId, prefix, maxInputChars, longestPiece };
}

/** Greedy longest-match-first, as the WordPiece model does; a word with any unmatched rest is one [UNK]. */
function wordPieces(word: string, model: WordPieceModel): number[] {
  // Every supported character is one UTF-16 unit, so lengths count characters as the native model does.
  if (word.length > model.maxInputChars) {
    return [model.unkId];
  }
  const pieces: number[] = [];
  for (let start = 0; start < word.length;) {
    let end = Math.min(word.length, start + model.longestPiece);
    let id: number | undefined;
    for (; end > start; end--) {
      const candidate = start > 0 ? model.prefix + word.slice(start, end) : word.slice(start, end);
      id = model.vocab.get(candidate);
      if (id !== undefined) {
        break;
      }
    }
    if (id === undefined) {
      return [model.unkId];
    }
    pieces.push(id);
    start = end;
  }
  return pieces;
}

/** The post-processor's single-sequence template: special tokens before and after the text's pieces. */
class SingleTemplate {
  private readonly closingWhenEmpty: number;

  constructor(
    private readonly before: TemplateToken[],
    private readonly after: TemplateToken[],
    private readonly sequenceTypeId: number,
  ) {
    this.closingWhenEmpty = before.length + after.length;
  }

  apply(pieces: number[]): TokenizedText {
    const { before, after, sequenceTypeId } = this;
    const length = before.length + pieces.length + after.length;
    const ids = new Array<number>(length);
    const typeIds = new Array<number>(length).fill(sequenceTypeId);
    before.forEach(({ id, typeId }, index) => {
      ids[index] = id;
      typeIds[index] = typeId;
    });
    for (let index = 0; index < pieces.length; index++) {
      ids[before.length + index] = pieces[index];
    }
    after.forEach(({ id, typeId }, index) => {
      ids[length - after.length + index] = id;
      typeIds[length - after.length + index] = typeId;
    });
    // The native tokenizer counts trailing ones of the special-tokens mask: with no pieces, the opening ones too.
    const closingSpecialTokens = pieces.length > 0 ? after.length : this.closingWhenEmpty;
    return { ids, typeIds, closingSpecialTokens };
  }
}

interface TemplateToken {
  id: number;
  typeId: number;
}

type TemplateItem = { SpecialToken?: { id: string; type_id: number }; Sequence?: { id: string; type_id: number } };

function singleTemplateOf(processor: TokenizerJson['post_processor']): SingleTemplate | undefined {
  if (processor === null || processor === undefined) {
    return new SingleTemplate([], [], 0);
  }
  if (processor.type === 'BertProcessing') {
    const [cls, sep] = [processor.cls, processor.sep] as Array<[string, number]>;
    return new SingleTemplate([{ id: cls[1], typeId: 0 }], [{ id: sep[1], typeId: 0 }], 0);
  }
  if (processor.type !== 'TemplateProcessing') {
    return undefined;
  }
  return templateProcessingOf(
    processor.single as TemplateItem[],
    processor.special_tokens as Record<string, { ids: number[] }>,
  );
}

function templateProcessingOf(
  single: TemplateItem[],
  specialTokens: Record<string, { ids: number[] }>,
): SingleTemplate | undefined {
  const sequenceAt = single.findIndex((item) => item.Sequence);
  if (sequenceAt < 0 || single.filter((item) => item.Sequence).length !== 1) {
    return undefined;
  }
  const expand = (items: TemplateItem[]): TemplateToken[] =>
    items.flatMap(({ SpecialToken }) =>
      (specialTokens[SpecialToken!.id]?.ids ?? []).map((id) => ({ id, typeId: SpecialToken!.type_id })),
    );
  const before = single.slice(0, sequenceAt);
  const after = single.slice(sequenceAt + 1);
  if ([...before, ...after].some(({ SpecialToken }) => !specialTokens[SpecialToken?.id ?? ''])) {
    return undefined;
  }
  return new SingleTemplate(expand(before), expand(after), single[sequenceAt].Sequence!.type_id);
}
