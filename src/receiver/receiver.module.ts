import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ReceiverRepository } from './receiver.repository';
import { ReceiverService } from './receiver.service';
import { VectorReuse } from './vector-reuse';

/** Reuse reads the built-in store, so it exists only when that store is the receiver (RECEIVER_URL unset). */
export function createVectorReuse(config: AppConfig, repository: ReceiverRepository): VectorReuse | null {
  return config.receiver.url ? null : repository;
}

/** The built-in receiver's store: checks and upserts vectors, reads them back, and offers them for reuse. */
@Module({
  providers: [
    ReceiverRepository,
    ReceiverService,
    { provide: VectorReuse, inject: [AppConfig, ReceiverRepository], useFactory: createVectorReuse },
  ],
  exports: [ReceiverService, VectorReuse],
})
export class ReceiverModule {}
