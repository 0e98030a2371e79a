import { Logger } from '@nestjs/common';
import { AppConfig, OpenAiModelEntry } from '../../../../config/app-config';
import { MetricsService } from '../../../../metrics/metrics.service';
import { OpenAiCompatibleModel } from './openai-compatible-model';

/** A models-file entry with `backend: openai`: the remote model behind an OpenAI-compatible API, with its budget. */
export function createOpenAiCompatibleModel(
  entry: OpenAiModelEntry,
  _config: AppConfig,
  metrics?: MetricsService,
): OpenAiCompatibleModel {
  return new OpenAiCompatibleModel({
    id: entry.id,
    url: entry.url,
    apiKey: entry.apiKey,
    model: entry.model,
    dimensions: entry.dimensions,
    supportsDimensions: entry.supportsDimensions,
    maxInputs: entry.maxInputs,
    maxRequestTokens: entry.maxRequestTokens,
    maxInputTokens: entry.maxInputTokens,
    tokenizerPath: entry.tokenizer,
    budget: entry.budget,
    timeoutMs: entry.timeoutMs,
    maxAttempts: entry.maxAttempts,
    retryBaseMs: entry.retryBaseMs,
    startupWaitMs: entry.startupWaitMs,
    logger: new Logger('Embedding'),
    onRequestError: metrics && ((status) => metrics.remoteError(entry.id, status)),
  });
}
