import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Indexes that earn their place at 100M links (numbers in README, "100 million links"). Built and dropped
 * CONCURRENTLY, outside a transaction, so a large table keeps taking writes meanwhile; each step first drops what a
 * failed earlier run may have left behind, so running it again is safe.
 *
 * - `embed_task_chunk_claim_idx` (task_id, available_at, id) WHERE pending replaces `embed_task_chunk_pending_idx`:
 *   a claim reads exactly the links it takes, skipping links in backoff inside the index instead of on the heap.
 * - `embed_task_chunk_task_status_id_idx` (task_id, status, id) replaces (task_id, status): a task's links of one
 *   status in the order they were added, for keyset pages, the export, retry and the drift check.
 * - `embed_task_chunk_failed_idx` goes: the metrics read the per-task counters now, and retry uses the index above.
 * - `embed_chunk_content_hash_idx` goes: no query looks chunks up by hash (reuse looks in mgmt.embedding), and it was
 *   the largest index of the schema.
 */
export class LinkIndexes1764288000001 implements MigrationInterface {
  name = 'LinkIndexes1764288000001';
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await this.create(
      queryRunner,
      'embed_task_chunk_claim_idx',
      `"mgmt"."embed_task_chunk" ("task_id", "available_at", "id") WHERE "status" = 'pending'`,
    );
    await this.create(
      queryRunner,
      'embed_task_chunk_task_status_id_idx',
      `"mgmt"."embed_task_chunk" ("task_id", "status", "id")`,
    );
    for (const index of [
      'embed_task_chunk_pending_idx',
      'embed_task_chunk_task_status_idx',
      'embed_task_chunk_failed_idx',
      'embed_chunk_content_hash_idx',
    ]) {
      await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "mgmt"."${index}"`);
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await this.create(queryRunner, 'embed_chunk_content_hash_idx', `"mgmt"."embed_chunk" ("content_hash")`);
    await this.create(
      queryRunner,
      'embed_task_chunk_failed_idx',
      `"mgmt"."embed_task_chunk" ("task_id") WHERE "status" = 'failed'`,
    );
    await this.create(
      queryRunner,
      'embed_task_chunk_task_status_idx',
      `"mgmt"."embed_task_chunk" ("task_id", "status")`,
    );
    await this.create(
      queryRunner,
      'embed_task_chunk_pending_idx',
      `"mgmt"."embed_task_chunk" ("task_id", "id") WHERE "status" = 'pending'`,
    );
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "mgmt"."embed_task_chunk_task_status_id_idx"`);
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "mgmt"."embed_task_chunk_claim_idx"`);
  }

  /** An index left invalid by an interrupted CREATE INDEX CONCURRENTLY would satisfy IF NOT EXISTS: drop it first. */
  private async create(queryRunner: QueryRunner, name: string, definition: string): Promise<void> {
    await queryRunner.query(`DROP INDEX CONCURRENTLY IF EXISTS "mgmt"."${name}"`);
    await queryRunner.query(`CREATE INDEX CONCURRENTLY "${name}" ON ${definition}`);
  }
}
