import { invalidInput } from '../../embedding.errors';
import { EmbedOptions } from '../embedding-model';
import { SentenceTransformerSettings } from './model-files/sentence-transformers-settings';

/** EmbedOptions with the model's defaults filled in and every value checked. */
export interface ResolvedOptions {
  prefix: string;
  normalize: boolean;
  truncate: boolean;
  dimensions?: number;
}

export interface ModelTraits {
  id: string;
  settings: SentenceTransformerSettings;
}

export function resolveOptions(options: EmbedOptions, model: ModelTraits): ResolvedOptions {
  return {
    prefix: resolvePrompt(options, model),
    normalize: options.normalize ?? model.settings.normalize,
    truncate: options.truncate ?? true,
    // Checked against the model's size by EmbeddingService, where every input is checked.
    dimensions: options.dimensions,
  };
}

/** Like sentence-transformers: an explicit prompt wins, then a named one, then the model's default_prompt_name. */
function resolvePrompt(options: EmbedOptions, model: ModelTraits): string {
  const { prompts, defaultPromptName } = model.settings;
  if (options.prompt !== undefined && options.promptName !== undefined) {
    throw invalidInput((terms) => `Give either prompt or ${terms.option('promptName')}, not both`, 'prompt');
  }
  if (options.prompt !== undefined) {
    return options.prompt;
  }
  const name = options.promptName ?? defaultPromptName;
  if (name === null) {
    return '';
  }
  if (!Object.hasOwn(prompts, name)) {
    const known = Object.keys(prompts).join(', ') || '(none)';
    throw invalidInput(`Model "${model.id}" has no prompt named "${name}"; known: ${known}`, 'promptName');
  }
  return prompts[name];
}
