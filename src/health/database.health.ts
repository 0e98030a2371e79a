import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { DatabaseProbe, ProbedPool } from '../database/database-probe';

/**
 * The database answers, and every migration this build knows has been applied. Asked through DatabaseProbe: on a
 * connection of its own while the pool is busy to its last connection, which still reads as a database that is up.
 */
@Injectable()
export class DatabaseHealthIndicator {
  private readonly probe: DatabaseProbe;

  constructor(
    private readonly health: HealthIndicatorService,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {
    const url = (dataSource.options as { url?: string }).url ?? '';
    const pool = () => (dataSource.driver as unknown as { master?: ProbedPool }).master;
    this.probe = new DatabaseProbe(pool, url, config.health.timeoutMs);
  }

  check() {
    return this.health
      .check('database')
      .attempt(async () => {
        await this.probe.query('SELECT 1');
        const pending = await this.pendingMigrations();
        if (pending.length > 0) throw new Error(`pending migrations: ${pending.join(', ')}`);
        return { migrations: 'applied' };
      })
      .withTimeout(this.config.health.timeoutMs);
  }

  private async pendingMigrations(): Promise<string[]> {
    const table = this.dataSource.options.migrationsTableName ?? 'migrations';
    const applied = await this.probe.query<{ name: string }>(`SELECT name FROM "${table}"`).catch(() => []);
    const names = new Set(applied.map((row) => row.name));
    return this.dataSource.migrations.map((migration) => migration.name ?? '').filter((name) => !names.has(name));
  }
}
