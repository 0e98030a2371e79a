import { invalidInput, Terms } from '../../../embedding.errors';
import { EmbedOptions, ModelInfo, PoolingMode } from '../../embedding-model';
import { TeiEmbedBody, TeiInfo } from './tei-client';

// This service's EmbedOptions and ModelInfo in TEI's terms, and TEI's /info in this service's.

/** What every request of one embed call shares: TEI's /embed body without the inputs. */
export type RequestSettings = Omit<TeiEmbedBody, 'inputs'>;

const TEI_POOLING: Record<string, PoolingMode> = { mean: 'mean', cls: 'cls', last_token: 'lasttoken' };

/** EmbedOptions in TEI's terms, with this service's defaults (truncate) and TEI's (normalize). */
export function requestSettings(options: EmbedOptions, info: ModelInfo): RequestSettings {
  if (options.prompt !== undefined) {
    const message = (terms: Terms) =>
      `prompt: TEI takes no literal prompt per request; use ${terms.option('promptName')} instead`;
    throw invalidInput(message, 'prompt');
  }
  const { dimensions, promptName } = options;
  return {
    truncate: options.truncate ?? true,
    normalize: options.normalize ?? info.normalize,
    ...(promptName === undefined ? {} : { prompt_name: promptName }),
    ...(dimensions === undefined ? {} : { dimensions }),
  };
}

export function toModelInfo(info: TeiInfo, dimensions: number): ModelInfo {
  const pooling = info.model_type?.embedding?.pooling;
  return {
    id: info.model_id,
    dimensions,
    maxTokens: info.max_input_length,
    pooling: (pooling && TEI_POOLING[pooling.toLowerCase()]) || 'mean',
    // TEI normalises unless asked not to; its /info does not say what the model itself would do.
    normalize: true,
    prompts: {},
    defaultPromptName: null,
    device: 'remote',
    dtype: info.model_dtype ?? 'unknown',
  };
}
