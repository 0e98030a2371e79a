import { invalidInput } from '../../embedding.errors';
import { EmbedOptions } from '../embedding-provider';
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
  /** Known after warm-up; 0 before, when `dimensions` cannot be checked yet. */
  dimensions: number;
}

export function resolveOptions(options: EmbedOptions, model: ModelTraits): ResolvedOptions {
  return {
    prefix: resolvePrompt(options, model),
    normalize: options.normalize ?? model.settings.normalize,
    truncate: options.truncate ?? true,
    dimensions: checkDimensions(options.dimensions, model),
  };
}

/** Like sentence-transformers: an explicit prompt wins, then a named one, then the model's default_prompt_name. */
function resolvePrompt(options: EmbedOptions, model: ModelTraits): string {
  const { prompts, defaultPromptName } = model.settings;
  if (options.prompt !== undefined && options.promptName !== undefined) {
    throw invalidInput('Give either prompt or promptName, not both', 'prompt');
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

function checkDimensions(dimensions: number | undefined, model: ModelTraits): number | undefined {
  if (dimensions === undefined) {
    return undefined;
  }
  const limit = model.dimensions || Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > limit) {
    throw invalidInput(
      `dimensions must be an integer from 1 to ${model.dimensions} for model "${model.id}", got ${dimensions}`,
      'dimensions',
    );
  }
  return dimensions;
}
