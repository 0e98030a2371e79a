import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A partial index over the failed links, so GET /metrics counts them exactly from an index as small as the failures
 * are few, like the pending and in-progress ones, instead of scanning a table of millions of rows on every scrape.
 * Built CONCURRENTLY (outside a transaction), so a large table keeps taking writes meanwhile.
 */
export class FailedIndex1764201600000 implements MigrationInterface {
  name = 'FailedIndex1764201600000';
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX CONCURRENTLY "embed_task_chunk_failed_idx" ON "mgmt"."embed_task_chunk" ("task_id") WHERE "status" = 'failed'`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX CONCURRENTLY "mgmt"."embed_task_chunk_failed_idx"`);
  }
}
