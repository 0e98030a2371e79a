import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The database keeps SQL writers honest (docs/sql-writers.md): plain SQL is a first-class way to feed work, so the
 * rules live in the schema, not only in the service.
 *
 * - A task whose links are all gone (DELETE or TRUNCATE of its links) is `completed`, never `running` with every
 *   count 0; a task that never had a link stays `pending`. The status function of the task-counters migration gains
 *   that one case.
 * - A task leaves `cancelled` only through the service's cancel/retry, which say so with a transaction-local setting
 *   (TaskRepository.allowCancelledChange); any other writer is refused with a message naming the task.
 * - CHECK constraints: link counters and attempts are never negative. They are added NOT VALID (no scan, a brief
 *   lock) and validated after that transaction commits, which scans the table under SHARE UPDATE EXCLUSIVE: reads and
 *   writes go on meanwhile, even at 100M links. Hence `transaction = false` and a transaction of its own for the
 *   rest; every step drops what a failed earlier run may have left, so running it again is safe.
 *
 * An `in_progress` link without a lease is reclaimed by the sender's reclaim query, not here.
 */
export class SqlWriters1765000000000 implements MigrationInterface {
  name = 'SqlWriters1765000000000';
  transaction = false;

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.startTransaction();
    try {
      await this.replaceStatusFunction(queryRunner, STATUS_WITH_EMPTY);
      await this.createCancelledGuard(queryRunner);
      await this.repairExisting(queryRunner);
      await this.addChecks(queryRunner);
      await queryRunner.commitTransaction();
    } catch (error) {
      await queryRunner.rollbackTransaction();
      throw error;
    }
    for (const [table, name] of CHECKS) {
      await queryRunner.query(`ALTER TABLE "mgmt"."${table}" VALIDATE CONSTRAINT "${name}"`);
    }
  }

  /** Only the status CASE changes; see 1764288000000-task-counters.ts for the rest of the function. */
  private async replaceStatusFunction(queryRunner: QueryRunner, status: string): Promise<void> {
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION "mgmt"."task_status_from_counts"() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        was text := CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END;
        had_links boolean := CASE WHEN TG_OP = 'UPDATE' THEN OLD.pending + OLD.in_progress + OLD.done + OLD.failed > 0 ELSE false END;
      BEGIN
        -- Anything else (cancelled, or a value the CHECK constraint refuses) is left as written.
        IF NEW.status IN ('pending', 'running', 'completed', 'failed') THEN
          NEW.status := ${status};
        END IF;
        IF NEW.status = 'running' AND NEW.in_progress + NEW.done + NEW.failed > 0 THEN
          NEW.started_at := coalesce(NEW.started_at, now());
        END IF;
        IF NEW.status IN ('pending', 'running') THEN
          NEW.finished_at := NULL;
          IF was IN ('completed', 'failed') THEN
            NEW.last_error := NULL;
          END IF;
        ELSIF NEW.status = 'cancelled' THEN
          IF was IS DISTINCT FROM 'cancelled' THEN
            NEW.finished_at := coalesce(NEW.finished_at, now());
          END IF;
        ELSIF was IS NULL OR was NOT IN ('completed', 'failed') THEN
          -- The transaction that finishes a task stamps it with its own now(): SenderRepository relies on that.
          NEW.finished_at := now();
        END IF;
        RETURN NEW;
      END $$`);
  }

  /**
   * BEFORE UPDATE, so a refused statement changes nothing. Counter updates of a cancelled task keep it cancelled
   * (the status function leaves `cancelled` as written) and pass; only a change of the status itself is checked.
   */
  private async createCancelledGuard(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION "mgmt"."task_cancelled_guard"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF OLD.status = 'cancelled' AND NEW.status IS DISTINCT FROM 'cancelled'
           AND coalesce(current_setting('${ALLOW_CANCELLED_CHANGE}', true), '') <> 'on' THEN
          RAISE EXCEPTION 'task % is cancelled: only POST /tasks/%/retry may reopen it', OLD.id, OLD.id
            USING ERRCODE = 'check_violation', HINT = 'see docs/sql-writers.md';
        END IF;
        RETURN NEW;
      END $$`);
    await queryRunner.query(`DROP TRIGGER IF EXISTS "task_cancelled_guard" ON "mgmt"."task"`);
    await queryRunner.query(`
      CREATE TRIGGER "task_cancelled_guard" BEFORE UPDATE OF "status" ON "mgmt"."task"
      FOR EACH ROW EXECUTE FUNCTION "mgmt"."task_cancelled_guard"()`);
  }

  /**
   * What the old rules let SQL leave behind, made right so the constraints validate: tasks left running with no
   * link (rewritten, so the status function derives them anew), negative attempts (as if never tried), and
   * counters below zero (recounted; the drift check finds any other drift).
   */
  private async repairExisting(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      UPDATE "mgmt"."task" SET status = status
      WHERE status = 'running' AND pending = 0 AND in_progress = 0 AND done = 0 AND failed = 0`);
    await queryRunner.query(`UPDATE "mgmt"."embed_task_chunk" SET attempts = 0 WHERE attempts < 0`);
    await queryRunner.query(`
      UPDATE "mgmt"."task" t
      SET pending = (SELECT count(*) FROM "mgmt"."embed_task_chunk" WHERE task_id = t.id AND status = 'pending'),
          in_progress = (SELECT count(*) FROM "mgmt"."embed_task_chunk" WHERE task_id = t.id AND status = 'in_progress'),
          done = (SELECT count(*) FROM "mgmt"."embed_task_chunk" WHERE task_id = t.id AND status = 'done'),
          failed = (SELECT count(*) FROM "mgmt"."embed_task_chunk" WHERE task_id = t.id AND status = 'failed')
      WHERE t.pending < 0 OR t.in_progress < 0 OR t.done < 0 OR t.failed < 0`);
  }

  private async addChecks(queryRunner: QueryRunner): Promise<void> {
    for (const [table, name, expression] of CHECKS) {
      await queryRunner.query(`ALTER TABLE "mgmt"."${table}" DROP CONSTRAINT IF EXISTS "${name}"`);
      await queryRunner.query(`ALTER TABLE "mgmt"."${table}" ADD CONSTRAINT "${name}" CHECK (${expression}) NOT VALID`);
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const [table, name] of CHECKS) {
      await queryRunner.query(`ALTER TABLE "mgmt"."${table}" DROP CONSTRAINT IF EXISTS "${name}"`);
    }
    await queryRunner.query(`DROP TRIGGER IF EXISTS "task_cancelled_guard" ON "mgmt"."task"`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS "mgmt"."task_cancelled_guard"()`);
    await this.replaceStatusFunction(queryRunner, STATUS_BEFORE);
  }
}

/** The setting TaskRepository.allowCancelledChange turns on, for the rest of its transaction only. */
export const ALLOW_CANCELLED_CHANGE = 'embedding_tasks.allow_cancel_change';

/** [table, constraint, expression]; the entities declare the same names (the schema diff test compares them). */
export const CHECKS: [string, string, string][] = [
  ['task', 'task_counts_check', `"pending" >= 0 AND "in_progress" >= 0 AND "done" >= 0 AND "failed" >= 0`],
  ['embed_task_chunk', 'embed_task_chunk_attempts_check', `"attempts" >= 0`],
];

/** The status of the task-counters migration, for down(). */
const STATUS_BEFORE = `CASE
            WHEN NEW.pending + NEW.in_progress = 0 AND NEW.done + NEW.failed > 0 THEN
              CASE WHEN NEW.failed > 0 THEN 'failed' ELSE 'completed' END
            WHEN NEW.in_progress + NEW.done + NEW.failed > 0 OR NEW.started_at IS NOT NULL THEN 'running'
            ELSE 'pending'
          END`;

/** As before, except a task with no link left: completed once it had links (or had started), never running. */
const STATUS_WITH_EMPTY = `CASE
            WHEN NEW.pending + NEW.in_progress = 0 AND NEW.done + NEW.failed > 0 THEN
              CASE WHEN NEW.failed > 0 THEN 'failed' ELSE 'completed' END
            WHEN NEW.pending + NEW.in_progress + NEW.done + NEW.failed = 0 THEN
              CASE WHEN had_links OR NEW.started_at IS NOT NULL OR was = 'completed' THEN 'completed' ELSE 'pending' END
            WHEN NEW.in_progress + NEW.done + NEW.failed > 0 OR NEW.started_at IS NOT NULL THEN 'running'
            ELSE 'pending'
          END`;
