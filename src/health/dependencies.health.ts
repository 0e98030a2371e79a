import { withoutBody } from '../logging/safe-error';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { DependencyBreakers } from '../sender/dependency-breakers';

/**
 * The sender's dependencies by their circuit breakers: down while one is open (claims for it paused), with the
 * failure that opened it. Up while none is, and where no sender runs (no breaker is ever made).
 */
@Injectable()
export class DependenciesHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly breakers: DependencyBreakers,
  ) {}

  check() {
    const session = this.health.check('dependencies');
    const open = this.breakers.open();
    if (open.length === 0) return session.up();
    const down = Object.fromEntries(open.map((breaker) => [breaker.name, 'down']));
    const message = open
      .map((breaker) => `${breaker.name} unavailable, claims paused: ${withoutBody(breaker.error)}`)
      .join('; ');
    return session.down({ ...down, message });
  }
}
