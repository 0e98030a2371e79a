import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { AppConfig } from '../config/app-config';
import { ReceiverClient } from '../delivery/receiver-client';

/** The receiver the sender delivers to answers (in-process: always, the database check covers it). */
@Injectable()
export class ReceiverHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly client: ReceiverClient,
    private readonly config: AppConfig,
  ) {}

  check() {
    const target = this.config.receiver.url ?? 'in-process';
    return this.health
      .check('receiver')
      .attempt(async ({ signal }) => {
        await this.client.checkReachable(signal);
        return { target };
      })
      .withTimeout(this.config.health.timeoutMs);
  }
}
