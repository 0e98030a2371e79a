import { invalidInput, Terms } from '../../embedding.errors';
import { EmbedInput, isText, TextToken, TokenIds } from '../embedding-model';
import { ModelFiles } from './model-files/model-files';
import { TextTokenizer } from '../tokenizer/text-tokenizer';
import { TokenizedText, truncateTokens } from '../tokenizer/tokenized-text';

/** What a request asks of tokenising: the prompt (already resolved) and whether to cut to the model's limit. */
export interface InputRequest {
  prefix: string;
  truncate: boolean;
}

/**
 * A model's inputs as token ids, the way TEI makes them (core/src/tokenization.rs): a text gets the prompt,
 * lower-casing when the model asks for it, and the special tokens; token ids are taken as given, special tokens
 * included and none added, unless a prompt applies: then they are decoded to text and tokenised again behind it.
 * Ids outside the vocabulary are refused up front: the graph would fail on them.
 */
export class ModelInputs {
  constructor(
    private readonly modelId: string,
    private readonly tokenizer: TextTokenizer,
    private readonly files: ModelFiles,
  ) {}

  /** Tokenised without truncation first, unless asked, so that an input over the limit can be told from one that fits. */
  async encode(inputs: EmbedInput[], request: InputRequest): Promise<TokenizedText[]> {
    inputs.forEach((input, index) => {
      if (!isText(input)) this.checkIds(input, index);
    });
    const decode = request.prefix !== '' && !inputs.every(isText);
    const texts = decode
      ? await Promise.all(inputs.map(async (input) => (isText(input) ? input : this.tokenizer.decode(input, true))))
      : inputs;
    const encoded = await this.encodeTexts(texts, request.prefix);
    return request.truncate ? encoded.map((text) => truncateTokens(text, this.files.maxTokens)) : encoded;
  }

  async tokens(texts: string[], prefix: string, addSpecialTokens: boolean): Promise<TextToken[][]> {
    return Promise.all(texts.map((text) => this.tokenizer.tokens(this.prepared(prefix + text), addSpecialTokens)));
  }

  async decode(ids: TokenIds[], skipSpecialTokens: boolean): Promise<string[]> {
    ids.forEach((list, index) => this.checkIds(list, index));
    return Promise.all(ids.map((list) => this.tokenizer.decode(list, skipSpecialTokens)));
  }

  /** Texts go through the tokenizer in one batch; ids pass as they are (type ids 0, as for a single sequence). */
  private async encodeTexts(inputs: EmbedInput[], prefix: string): Promise<TokenizedText[]> {
    const textIndexes = inputs.flatMap((input, index) => (isText(input) ? [index] : []));
    const encoded = await this.tokenizer.encode(
      textIndexes.map((index) => this.prepared(prefix + (inputs[index] as string))),
    );
    const results = inputs.map((input) => (isText(input) ? undefined : asTokenized(input)));
    textIndexes.forEach((index, position) => (results[index] = encoded[position]));
    return results as TokenizedText[];
  }

  private prepared(text: string): string {
    return this.files.settings.doLowerCase ? text.toLowerCase() : text;
  }

  /** Named `texts[i]`, like every input the provider refuses. */
  private checkIds(ids: TokenIds, index: number): void {
    const size = this.tokenizer.vocabSize;
    const bad = ids.find((id) => !Number.isInteger(id) || id < 0 || id >= size);
    if (bad === undefined) return;
    const message = (terms: Terms) =>
      `${terms.text(index)}: token id ${bad} is not in the vocabulary of model "${this.modelId}" (0 to ${size - 1})`;
    throw invalidInput(message, 'texts', index);
  }
}

function asTokenized(ids: TokenIds): TokenizedText {
  return { ids, typeIds: ids.map(() => 0), closingSpecialTokens: 0 };
}
