/**
 * Request examples for Swagger UI, one set per embedding route, each written for the README's model
 * (sentence-transformers/all-MiniLM-L6-v2; its token ids are BERT's: 101 [CLS], 7592 "hello", 102 [SEP]).
 * openapi-examples.e2e-spec.ts sends every one of them.
 */
type Examples = Record<string, { summary: string; value: object }>;

const MODEL = 'sentence-transformers/all-MiniLM-L6-v2';
const TEXTS = ['PostgreSQL is a relational database.', 'Embeddings are vectors.'];
const HELLO_IDS = [101, 7592, 102];

export const NATIVE_BODY_EXAMPLES: Record<'single' | 'batch', Examples> = {
  single: {
    text: { summary: 'One text, with the first served model', value: { text: TEXTS[0] } },
    options: {
      summary: 'A named model, raw (unnormalised) vector, refused rather than cut when too long',
      value: { text: TEXTS[0], model: MODEL, normalize: false, truncate: false },
    },
  },
  batch: {
    chunks: {
      summary: 'Two chunks with your ids, answered in order',
      value: {
        task_id: 7,
        chunks: [
          { id: 1, text: TEXTS[0] },
          { id: 'b', text: TEXTS[1] },
        ],
      },
    },
  },
};

export const OPENAI_BODY_EXAMPLES: Examples = {
  texts: { summary: 'Two texts, as float arrays', value: { model: MODEL, input: TEXTS, encoding_format: 'float' } },
  text: {
    summary: 'One text, base64 (what the SDKs ask for)',
    value: { model: MODEL, input: TEXTS[0], encoding_format: 'base64' },
  },
  tokens: { summary: 'Token ids of the model’s vocabulary', value: { model: MODEL, input: [HELLO_IDS] } },
};

const EMBED: Examples = {
  text: { summary: 'One text (answered as a list of one vector)', value: { inputs: 'What is Deep Learning?' } },
  batch: {
    summary: 'Several texts, unnormalised',
    value: { inputs: ['What is Deep Learning?', 'What is Machine Learning?'], normalize: false },
  },
  tokens: { summary: 'Token ids, as given', value: { inputs: HELLO_IDS } },
};

const SIMILARITY: Examples = {
  similarity: {
    summary: 'A source sentence against others',
    value: { inputs: { source_sentence: 'What is Deep Learning?', sentences: ['What is Machine Learning?', 'Hello'] } },
  },
};

export const TEI_BODY_EXAMPLES: Record<
  'embed' | 'root' | 'embedAll' | 'sparse' | 'similarity' | 'tokenize' | 'decode',
  Examples
> = {
  embed: EMBED,
  root: { embed: EMBED.batch, similarity: SIMILARITY.similarity },
  embedAll: { text: { summary: 'The vector of every token of one text', value: { inputs: 'What is Deep Learning?' } } },
  sparse: {
    text: { summary: 'Answers 424 here: no SPLADE model is served', value: { inputs: 'What is Deep Learning?' } },
  },
  similarity: SIMILARITY,
  tokenize: {
    text: { summary: 'The tokens of one text', value: { inputs: 'What is Deep Learning?' } },
    bare: { summary: 'Without special tokens', value: { inputs: ['hello world'], add_special_tokens: false } },
  },
  decode: {
    ids: { summary: 'Ids back to text, special tokens left out', value: { ids: HELLO_IDS } },
    special: { summary: 'With special tokens', value: { ids: [HELLO_IDS], skip_special_tokens: false } },
  },
};
