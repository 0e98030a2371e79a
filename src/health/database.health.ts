import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';

/** The database answers, and every migration this build knows has been applied. */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  check() {
    return this.health
      .check('database')
      .attempt(async () => {
        await this.dataSource.query('SELECT 1');
        const pending = await this.pendingMigrations();
        if (pending.length > 0) throw new Error(`pending migrations: ${pending.join(', ')}`);
        return { migrations: 'applied' };
      })
      .withTimeout(this.config.health.timeoutMs);
  }

  private async pendingMigrations(): Promise<string[]> {
    const table = this.dataSource.options.migrationsTableName ?? 'migrations';
    const applied = await this.dataSource.query<{ name: string }[]>(`SELECT name FROM "${table}"`).catch(() => []);
    const names = new Set(applied.map((row) => row.name));
    return this.dataSource.migrations.map((migration) => migration.name ?? '').filter((name) => !names.has(name));
  }
}
