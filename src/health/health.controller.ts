import { Controller, Get, Req, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { Request } from 'express';
import { presentsApiKey } from '../auth/api-key.guard';
import { Public } from '../auth/public.decorator';
import { AppConfig } from '../config/app-config';
import { DatabaseHealthIndicator } from './database.health';
import { DependenciesHealthIndicator } from './dependencies.health';
import { EmbeddingHealthIndicator } from './embedding.health';
import { statusesOnly } from './readiness-summary';
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
    private readonly config: AppConfig,
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
  async ready(@Req() request: Request): Promise<HealthCheckResult> {
    const checks = this.health.check([
      () => this.database.check(),
      () => this.embedding.check(),
      () => this.receiver.check(),
      () => this.dependencies.check(),
    ]);
    if (presentsApiKey(request, this.config.http.apiKey)) return checks;
    // Without the key (when one is set): the same status codes, each check's status alone.
    return checks.then(statusesOnly, (error: unknown) => {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      throw new ServiceUnavailableException(statusesOnly(error.getResponse() as HealthCheckResult));
    });
  }
}
