import { Logger } from '@nestjs/common';
import { AppConfig, TeiModelEntry } from '../../../../config/app-config';
import { MetricsService } from '../../../../metrics/metrics.service';
import { TeiModel } from './tei-model';

/** EMBEDDING_PROVIDER=tei: the model of the TEI server in TEI_URL (set whenever tei is chosen: config.loader). */
export function createTeiModel({ embedding, sender }: AppConfig, metrics?: MetricsService): TeiModel {
  const { tei } = embedding;
  return new TeiModel({
    url: tei.url!,
    apiKey: tei.apiKey,
    timeoutMs: tei.timeoutMs,
    maxConcurrency: tei.maxConcurrency,
    batchSize: tei.batchSize,
    maxAttempts: tei.maxAttempts,
    retryBaseMs: tei.retryBaseMs,
    startupWaitMs: tei.startupWaitMs,
    expectedModel: embedding.models[0]?.id,
    senderCapacity: sender.enabled && sender.mode === 'local' ? sender.batchSize * sender.concurrency : undefined,
    logger: new Logger('Embedding'),
    onRequestError: metrics && ((status) => metrics.teiError(status)),
  });
}

/** A models-file entry with `backend: tei`: its own server and key, the window and batch settings from TEI_*. */
export function createTeiEntryModel(
  entry: TeiModelEntry,
  { embedding }: AppConfig,
  metrics?: MetricsService,
): TeiModel {
  const { tei } = embedding;
  return new TeiModel({
    url: entry.url,
    apiKey: entry.apiKey,
    timeoutMs: entry.timeoutMs,
    maxConcurrency: tei.maxConcurrency,
    batchSize: tei.batchSize,
    maxAttempts: entry.maxAttempts,
    retryBaseMs: entry.retryBaseMs,
    startupWaitMs: entry.startupWaitMs,
    expectedModel: entry.model,
    servedAs: entry.id,
    logger: new Logger('Embedding'),
    onRequestError: metrics && ((status) => metrics.teiError(status)),
  });
}
