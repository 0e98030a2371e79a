import { ModelBlueprint } from './model-blueprints';
import { SPECIAL_TOKENS } from './wordpiece-vocabulary';

/** The JSON files of a sentence-transformers model folder on the Hugging Face hub, keyed by relative path. */
export function hubLayoutJsonFiles(blueprint: ModelBlueprint, vocabulary: string[]): Record<string, unknown> {
  return {
    'config.json': bertConfig(blueprint),
    'tokenizer.json': tokenizerJson(vocabulary),
    'tokenizer_config.json': tokenizerConfig(blueprint),
    'special_tokens_map.json': specialTokensMap(),
    'modules.json': sentenceTransformerModules(),
    '1_Pooling/config.json': meanPoolingConfig(blueprint),
    'sentence_bert_config.json': { max_seq_length: blueprint.maxSeqLength, do_lower_case: false },
    'config_sentence_transformers.json': sentenceTransformersConfig(),
  };
}

function bertConfig({ shape, size }: ModelBlueprint): Record<string, unknown> {
  return {
    _name_or_path: `embedding-tasks/${size}-random-bert`,
    architectures: ['BertModel'],
    attention_probs_dropout_prob: 0.1,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: shape.hiddenSize,
    initializer_range: shape.initStd,
    intermediate_size: shape.intermediateSize,
    layer_norm_eps: shape.layerNormEps,
    max_position_embeddings: shape.maxPositions,
    model_type: 'bert',
    num_attention_heads: shape.numHeads,
    num_hidden_layers: shape.numLayers,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    type_vocab_size: shape.typeVocabSize,
    vocab_size: shape.vocabSize,
  };
}

function tokenizerJson(vocabulary: string[]): Record<string, unknown> {
  const idOf = (token: string) => vocabulary.indexOf(token);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: Object.values(SPECIAL_TOKENS).map((token) => addedToken(token, idOf(token))),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: true,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: clsSepTemplate(idOf(SPECIAL_TOKENS.cls), idOf(SPECIAL_TOKENS.sep)),
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: SPECIAL_TOKENS.unk,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocabulary.map((token, id) => [token, id])),
    },
  };
}

function addedToken(content: string, id: number): Record<string, unknown> {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** `[CLS] $A [SEP]` for one text, `[CLS] $A [SEP] $B:1 [SEP]:1` for pairs, as BERT's tokenizer.json has. */
function clsSepTemplate(clsId: number, sepId: number): Record<string, unknown> {
  const special = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  const sequence = (id: string, typeId: number) => ({ Sequence: { id, type_id: typeId } });
  const { cls, sep } = SPECIAL_TOKENS;
  return {
    type: 'TemplateProcessing',
    single: [special(cls, 0), sequence('A', 0), special(sep, 0)],
    pair: [special(cls, 0), sequence('A', 0), special(sep, 0), sequence('B', 1), special(sep, 1)],
    special_tokens: {
      [cls]: { id: cls, ids: [clsId], tokens: [cls] },
      [sep]: { id: sep, ids: [sepId], tokens: [sep] },
    },
  };
}

function tokenizerConfig({ shape }: ModelBlueprint): Record<string, unknown> {
  return {
    clean_up_tokenization_spaces: true,
    do_basic_tokenize: true,
    do_lower_case: true,
    model_max_length: shape.maxPositions,
    never_split: null,
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: 'BertTokenizer',
    ...specialTokensMap(),
  };
}

function specialTokensMap(): Record<string, string> {
  const { cls, mask, pad, sep, unk } = SPECIAL_TOKENS;
  return { cls_token: cls, mask_token: mask, pad_token: pad, sep_token: sep, unk_token: unk };
}

function sentenceTransformerModules(): Array<Record<string, unknown>> {
  return [
    { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
    { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
    { idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' },
  ];
}

function meanPoolingConfig({ shape }: ModelBlueprint): Record<string, unknown> {
  return {
    word_embedding_dimension: shape.hiddenSize,
    pooling_mode_cls_token: false,
    pooling_mode_mean_tokens: true,
    pooling_mode_max_tokens: false,
    pooling_mode_mean_sqrt_len_tokens: false,
    pooling_mode_weightedmean_tokens: false,
    pooling_mode_lasttoken: false,
    include_prompt: true,
  };
}

function sentenceTransformersConfig(): Record<string, unknown> {
  return {
    __version__: { sentence_transformers: '3.0.1' },
    prompts: { query: 'query: ', document: 'document: ' },
    default_prompt_name: null,
    similarity_fn_name: 'cosine',
  };
}
