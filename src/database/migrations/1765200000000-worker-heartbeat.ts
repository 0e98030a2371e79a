import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Workers say which models they serve: one row per running sender (its WORKER_ID), written again every
 * WORKER_HEARTBEAT_INTERVAL_MS with an expiry three beats ahead, and deleted when the sender stops cleanly. A row
 * whose expiry has passed belongs to a worker that died; readers ignore it (and the next beat of any worker sweeps
 * it). The table holds one row per worker, so reading all of it is cheap; a task waits silently no more: the API
 * names a model of an open task that no live row lists.
 */
export class WorkerHeartbeat1765200000000 implements MigrationInterface {
  name = 'WorkerHeartbeat1765200000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "mgmt"."worker" (
        "id" text NOT NULL,
        "models" text[] NOT NULL DEFAULT '{}',
        "heartbeat_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "worker_pkey" PRIMARY KEY ("id")
      )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "mgmt"."worker"`);
  }
}
