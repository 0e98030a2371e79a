import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { Public } from '../auth/public.decorator';
import { DatabaseHealthIndicator } from './database.health';
import { DependenciesHealthIndicator } from './dependencies.health';
import { EmbeddingHealthIndicator } from './embedding.health';
import { ReceiverHealthIndicator } from './receiver.health';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
    private readonly embedding: EmbeddingHealthIndicator,
    private readonly receiver: ReceiverHealthIndicator,
    private readonly dependencies: DependenciesHealthIndicator,
  ) {}

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'The process answers (cheap: no dependency is called)' })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    summary:
      'Ready to serve: database reachable and migrated, every model loaded and warmed up, receiver reachable, no ' +
      'dependency of the sender paused by its circuit breaker',
  })
  @ApiServiceUnavailableResponse({ description: 'Not ready; the body names the failing check' })
  ready() {
    return this.health.check([
      () => this.database.check(),
      () => this.embedding.check(),
      () => this.receiver.check(),
      () => this.dependencies.check(),
    ]);
  }
}
