import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { EmbeddingModule } from '../embedding/embedding.module';
import { ErrorStatus, MetricsService } from '../metrics/metrics.service';
import { ReceiverModule } from '../receiver/receiver.module';
import { ReceiverService } from '../receiver/receiver.service';
import { DeliveryService } from './delivery.service';
import { HttpReceiverClient } from './http-receiver.client';
import { InProcessReceiverClient } from './in-process-receiver.client';
import { IsolatingDelivery } from './isolating-delivery';
import { ReceiverClient } from './receiver-client';

/** Over HTTP when RECEIVER_URL is set, else in-process through the built-in receiver. */
export function createReceiverClient(
  config: AppConfig,
  receiver: ReceiverService,
  metrics: MetricsService,
): ReceiverClient {
  const { url, apiKey, timeoutMs, maxRetries } = config.receiver;
  const onError = (status: ErrorStatus) => metrics.receiverError(status);
  if (!url) return new InProcessReceiverClient(receiver, onError);
  return new HttpReceiverClient({
    url,
    apiKey,
    timeoutMs,
    maxRetries,
    retryBaseMs: config.sender.retryBaseMs,
    onError,
  });
}

/** Embeds chunks and delivers their vectors to the receiver: for the local sender and POST /embeddings/batch. */
@Module({
  imports: [EmbeddingModule, ReceiverModule],
  providers: [
    { provide: ReceiverClient, inject: [AppConfig, ReceiverService, MetricsService], useFactory: createReceiverClient },
    IsolatingDelivery,
    DeliveryService,
  ],
  exports: [DeliveryService, ReceiverClient],
})
export class DeliveryModule {}
