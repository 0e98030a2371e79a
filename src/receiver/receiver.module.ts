import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ErrorStatus, MetricsService } from '../metrics/metrics.service';
import { HttpReceiverClient } from '../delivery/http-receiver.client';
import { InProcessReceiverClient } from '../delivery/in-process-receiver.client';
import { IsolatingDelivery } from '../delivery/isolating-delivery';
import { ReceiverClient } from '../delivery/receiver-client';
import { ReceiverController } from './receiver.controller';
import { ReceiverRepository } from './receiver.repository';
import { ReceiverService } from './receiver.service';

function createReceiverClient(config: AppConfig, receiver: ReceiverService, metrics: MetricsService): ReceiverClient {
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

/**
 * The built-in receiver (its endpoint only when RECEIVER_ENABLED), the client vectors are delivered through and
 * the delivery that isolates refused items, for the sender and for POST /embeddings/batch with `deliver`.
 */
@Module({})
export class ReceiverModule {
  static register(serveEndpoint: boolean): DynamicModule {
    return {
      module: ReceiverModule,
      controllers: serveEndpoint ? [ReceiverController] : [],
      providers: [
        ReceiverRepository,
        ReceiverService,
        {
          provide: ReceiverClient,
          inject: [AppConfig, ReceiverService, MetricsService],
          useFactory: createReceiverClient,
        },
        IsolatingDelivery,
      ],
      exports: [ReceiverClient, IsolatingDelivery, ReceiverRepository],
      global: true,
    };
  }
}
