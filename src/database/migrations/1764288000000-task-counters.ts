import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-task link counters kept by the database itself, and a task status that follows them.
 *
 * - `mgmt.task` gains `pending`, `in_progress`, `done`, `failed` and `last_done_at`. Statement-level triggers with
 *   transition tables on `mgmt.embed_task_chunk` add each statement's changes to them, aggregated per task (one
 *   UPDATE per task per statement, not per link), in the same transaction, so they cannot drift: through this
 *   service or by plain SQL (INSERT, UPDATE, DELETE, TRUNCATE, a task deleted with its links).
 * - A BEFORE trigger on `mgmt.task` derives `status` from the counters on every write (only `cancelled` is set by
 *   hand), so the stored status is always what the links say: a task becomes `running` at its first claim,
 *   `completed`/`failed` when its last link settles, and open again when it gains pending links (also by SQL).
 * - Indexes for the claim path (open tasks only) and the status filter, and per-table autovacuum settings.
 *
 * The backfill counts every link once, while the new trigger's lock (SHARE ROW EXCLUSIVE on embed_task_chunk, taken
 * by CREATE TRIGGER and held to commit) keeps writers out, so nothing changes between the count and the trigger.
 * Readers are not blocked. It costs one scan of the links table (see README, "100 million links").
 */
export class TaskCounters1764288000000 implements MigrationInterface {
  name = 'TaskCounters1764288000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "mgmt"."task"
        ADD "pending" bigint NOT NULL DEFAULT 0,
        ADD "in_progress" bigint NOT NULL DEFAULT 0,
        ADD "done" bigint NOT NULL DEFAULT 0,
        ADD "failed" bigint NOT NULL DEFAULT 0,
        ADD "last_done_at" TIMESTAMP WITH TIME ZONE`);
    await this.createStatusTriggers(queryRunner);
    await this.createCounterTriggers(queryRunner);
    await this.backfill(queryRunner);
    await this.createClosedTally(queryRunner);
    await this.replaceTaskIndexes(queryRunner);
    await this.tuneStorage(queryRunner);
  }

  /** The status follows the counters; updated_at moves only when something other than a counter changes. */
  private async createStatusTriggers(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION "mgmt"."task_status_from_counts"() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        was text := CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END;
      BEGIN
        -- Anything else (cancelled, or a value the CHECK constraint refuses) is left as written.
        IF NEW.status IN ('pending', 'running', 'completed', 'failed') THEN
          NEW.status := CASE
            WHEN NEW.pending + NEW.in_progress = 0 AND NEW.done + NEW.failed > 0 THEN
              CASE WHEN NEW.failed > 0 THEN 'failed' ELSE 'completed' END
            WHEN NEW.in_progress + NEW.done + NEW.failed > 0 OR NEW.started_at IS NOT NULL THEN 'running'
            ELSE 'pending'
          END;
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
    await queryRunner.query(`
      CREATE TRIGGER "task_status_from_counts" BEFORE INSERT OR UPDATE ON "mgmt"."task"
      FOR EACH ROW EXECUTE FUNCTION "mgmt"."task_status_from_counts"()`);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION "mgmt"."task_touch_updated_at"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF (NEW.name, NEW.model, NEW.status, NEW.priority, NEW.metadata, NEW.last_error, NEW.started_at, NEW.finished_at)
           IS DISTINCT FROM
           (OLD.name, OLD.model, OLD.status, OLD.priority, OLD.metadata, OLD.last_error, OLD.started_at, OLD.finished_at)
        THEN
          NEW.updated_at := now();
        END IF;
        RETURN NEW;
      END $$`);
  }

  private async createCounterTriggers(queryRunner: QueryRunner): Promise<void> {
    // Adds per-task deltas. Task rows are locked in id order first, so two statements that touch the same tasks
    // wait for each other instead of deadlocking; a task deleted by this transaction is simply skipped.
    await queryRunner.query(`
      CREATE FUNCTION "mgmt"."task_add_link_counts"(
        ids bigint[], d_pending bigint[], d_in_progress bigint[], d_done bigint[], d_failed bigint[], last_done timestamptz[]
      ) RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        IF ids IS NULL OR cardinality(ids) = 0 THEN
          RETURN;
        END IF;
        PERFORM 1 FROM "mgmt"."task" WHERE id = ANY(ids) ORDER BY id FOR NO KEY UPDATE;
        UPDATE "mgmt"."task" t
        SET pending = t.pending + d.p, in_progress = t.in_progress + d.i, done = t.done + d.d, failed = t.failed + d.f,
            last_done_at = greatest(t.last_done_at, d.last)
        FROM unnest(ids, d_pending, d_in_progress, d_done, d_failed, last_done) AS d(id, p, i, d, f, last)
        WHERE t.id = d.id;
      END $$`);
    // One function for the three events: each branch reads only the transition tables its event has.
    await queryRunner.query(`
      CREATE FUNCTION "mgmt"."embed_task_chunk_count"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          PERFORM "mgmt"."task_add_link_counts"(array_agg(task_id), array_agg(p), array_agg(i), array_agg(d), array_agg(f), array_agg(last))
          FROM (SELECT task_id, count(*) FILTER (WHERE status = 'pending') AS p, count(*) FILTER (WHERE status = 'in_progress') AS i,
                       count(*) FILTER (WHERE status = 'done') AS d, count(*) FILTER (WHERE status = 'failed') AS f,
                       max(done_at) FILTER (WHERE status = 'done') AS last
                FROM new_links GROUP BY task_id) x;
        ELSIF TG_OP = 'DELETE' THEN
          PERFORM "mgmt"."task_add_link_counts"(array_agg(task_id), array_agg(-p), array_agg(-i), array_agg(-d), array_agg(-f), array_agg(NULL::timestamptz))
          FROM (SELECT task_id, count(*) FILTER (WHERE status = 'pending') AS p, count(*) FILTER (WHERE status = 'in_progress') AS i,
                       count(*) FILTER (WHERE status = 'done') AS d, count(*) FILTER (WHERE status = 'failed') AS f
                FROM old_links GROUP BY task_id) x;
        ELSE
          PERFORM "mgmt"."task_add_link_counts"(array_agg(task_id), array_agg(p), array_agg(i), array_agg(d), array_agg(f), array_agg(last))
          FROM (SELECT task_id, sum(p) AS p, sum(i) AS i, sum(d) AS d, sum(f) AS f, max(last) AS last
                FROM (SELECT task_id, (status = 'pending')::int AS p, (status = 'in_progress')::int AS i,
                             (status = 'done')::int AS d, (status = 'failed')::int AS f,
                             CASE WHEN status = 'done' THEN done_at END AS last
                      FROM new_links
                      UNION ALL
                      SELECT task_id, -(status = 'pending')::int, -(status = 'in_progress')::int,
                             -(status = 'done')::int, -(status = 'failed')::int, NULL
                      FROM old_links) changes
                GROUP BY task_id
                -- A lease renewal changes no status: no task row is touched, so it waits for nobody.
                HAVING sum(p) <> 0 OR sum(i) <> 0 OR sum(d) <> 0 OR sum(f) <> 0) x;
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER "embed_task_chunk_count_insert" AFTER INSERT ON "mgmt"."embed_task_chunk"
      REFERENCING NEW TABLE AS new_links FOR EACH STATEMENT EXECUTE FUNCTION "mgmt"."embed_task_chunk_count"()`);
    await queryRunner.query(`
      CREATE TRIGGER "embed_task_chunk_count_update" AFTER UPDATE ON "mgmt"."embed_task_chunk"
      REFERENCING OLD TABLE AS old_links NEW TABLE AS new_links
      FOR EACH STATEMENT EXECUTE FUNCTION "mgmt"."embed_task_chunk_count"()`);
    await queryRunner.query(`
      CREATE TRIGGER "embed_task_chunk_count_delete" AFTER DELETE ON "mgmt"."embed_task_chunk"
      REFERENCING OLD TABLE AS old_links FOR EACH STATEMENT EXECUTE FUNCTION "mgmt"."embed_task_chunk_count"()`);
    await queryRunner.query(`
      CREATE FUNCTION "mgmt"."embed_task_chunk_count_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE "mgmt"."task" SET pending = 0, in_progress = 0, done = 0, failed = 0
        WHERE pending <> 0 OR in_progress <> 0 OR done <> 0 OR failed <> 0;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER "embed_task_chunk_count_truncate" AFTER TRUNCATE ON "mgmt"."embed_task_chunk"
      FOR EACH STATEMENT EXECUTE FUNCTION "mgmt"."embed_task_chunk_count_truncate"()`);
  }

  /** Counts every link once; every task row is written, so each status is derived anew from its counts. */
  private async backfill(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      UPDATE "mgmt"."task" t
      SET pending = coalesce(c.pending, 0), in_progress = coalesce(c.in_progress, 0), done = coalesce(c.done, 0),
          failed = coalesce(c.failed, 0), last_done_at = c.last_done_at
      FROM "mgmt"."task" t2
      LEFT JOIN (
        SELECT task_id, count(*) FILTER (WHERE status = 'pending') AS pending,
               count(*) FILTER (WHERE status = 'in_progress') AS in_progress,
               count(*) FILTER (WHERE status = 'done') AS done, count(*) FILTER (WHERE status = 'failed') AS failed,
               max(done_at) FILTER (WHERE status = 'done') AS last_done_at
        FROM "mgmt"."embed_task_chunk" GROUP BY task_id
      ) c ON c.task_id = t2.id
      WHERE t.id = t2.id`);
  }

  /**
   * Totals of the closed tasks (completed, failed, cancelled) by status: how many, and their links by status. A
   * closed task's counts rarely change, so summing these few rows replaces a scan of every task row (years of them)
   * in GET /metrics and the task list's totals; open tasks are summed from their own partial index. Each statement
   * that closes, reopens, changes or deletes closed tasks appends one delta row per status, and nobody ever updates
   * a row, so the tally is never a lock two transactions wait for; readers fold the rows together now and then.
   */
  private async createClosedTally(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "mgmt"."task_tally" (
        "id" bigint GENERATED BY DEFAULT AS IDENTITY NOT NULL,
        "status" text NOT NULL,
        "tasks" bigint NOT NULL DEFAULT 0,
        "pending" bigint NOT NULL DEFAULT 0,
        "in_progress" bigint NOT NULL DEFAULT 0,
        "done" bigint NOT NULL DEFAULT 0,
        "failed" bigint NOT NULL DEFAULT 0,
        CONSTRAINT "task_tally_pkey" PRIMARY KEY ("id")
      )`);
    const closed = `status IN ('completed', 'failed', 'cancelled')`;
    const totals = `count(*), sum(pending), sum(in_progress), sum(done), sum(failed)`;
    await queryRunner.query(`
      CREATE FUNCTION "mgmt"."task_tally_closed"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'TRUNCATE' THEN
          DELETE FROM "mgmt"."task_tally";
        ELSIF TG_OP = 'INSERT' THEN
          INSERT INTO "mgmt"."task_tally" (status, tasks, pending, in_progress, done, failed)
          SELECT status, ${totals} FROM new_tasks WHERE ${closed} GROUP BY status;
        ELSIF TG_OP = 'DELETE' THEN
          INSERT INTO "mgmt"."task_tally" (status, tasks, pending, in_progress, done, failed)
          SELECT status, -count(*), -sum(pending), -sum(in_progress), -sum(done), -sum(failed)
          FROM old_tasks WHERE ${closed} GROUP BY status;
        ELSE
          -- Counter updates of open tasks (every claim and settle) match nothing here and write nothing.
          INSERT INTO "mgmt"."task_tally" (status, tasks, pending, in_progress, done, failed)
          SELECT status, sum(tasks), sum(pending), sum(in_progress), sum(done), sum(failed)
          FROM (SELECT status, 1 AS tasks, pending, in_progress, done, failed FROM new_tasks WHERE ${closed}
                UNION ALL
                SELECT status, -1, -pending, -in_progress, -done, -failed FROM old_tasks WHERE ${closed}) changes
          GROUP BY status
          HAVING sum(tasks) <> 0 OR sum(pending) <> 0 OR sum(in_progress) <> 0 OR sum(done) <> 0 OR sum(failed) <> 0;
        END IF;
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER "task_tally_insert" AFTER INSERT ON "mgmt"."task"
      REFERENCING NEW TABLE AS new_tasks FOR EACH STATEMENT EXECUTE FUNCTION "mgmt"."task_tally_closed"()`);
    await queryRunner.query(`
      CREATE TRIGGER "task_tally_update" AFTER UPDATE ON "mgmt"."task"
      REFERENCING OLD TABLE AS old_tasks NEW TABLE AS new_tasks
      FOR EACH STATEMENT EXECUTE FUNCTION "mgmt"."task_tally_closed"()`);
    await queryRunner.query(`
      CREATE TRIGGER "task_tally_delete" AFTER DELETE ON "mgmt"."task"
      REFERENCING OLD TABLE AS old_tasks FOR EACH STATEMENT EXECUTE FUNCTION "mgmt"."task_tally_closed"()`);
    await queryRunner.query(`
      CREATE TRIGGER "task_tally_truncate" AFTER TRUNCATE ON "mgmt"."task"
      FOR EACH STATEMENT EXECUTE FUNCTION "mgmt"."task_tally_closed"()`);
    // The tasks closed so far: ADD COLUMN above holds an exclusive lock on mgmt.task until commit, so none closes meanwhile.
    await queryRunner.query(`
      INSERT INTO "mgmt"."task_tally" (status, tasks, pending, in_progress, done, failed)
      SELECT status, ${totals} FROM "mgmt"."task" WHERE ${closed} GROUP BY status`);
  }

  private async replaceTaskIndexes(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "mgmt"."task_status_priority_idx"`);
    // GET /tasks?status=…: newest first, keyset on id; also counts the tasks in a status.
    await queryRunner.query(`CREATE INDEX "task_status_id_idx" ON "mgmt"."task" ("status", "id")`);
    // The claim path: only open tasks are in it, so finished ones cost nothing however many there are.
    await queryRunner.query(
      `CREATE INDEX "task_open_idx" ON "mgmt"."task" ("model", "priority", "id") WHERE "status" IN ('pending', 'running')`,
    );
  }

  /**
   * Counter updates change no indexed column, so they are HOT updates when the page has room: leave room. The links
   * table is analysed and vacuumed after 2 % of it changes instead of 10/20 % (at 100M links: 2M rows, not 10M).
   */
  private async tuneStorage(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mgmt"."task" SET (fillfactor = 70)`);
    await queryRunner.query(`
      ALTER TABLE "mgmt"."embed_task_chunk" SET (
        autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.02,
        autovacuum_analyze_scale_factor = 0.02)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "mgmt"."embed_task_chunk" RESET (
        autovacuum_vacuum_scale_factor, autovacuum_vacuum_insert_scale_factor, autovacuum_analyze_scale_factor)`);
    await queryRunner.query(`ALTER TABLE "mgmt"."task" RESET (fillfactor)`);
    for (const event of ['insert', 'update', 'delete', 'truncate']) {
      await queryRunner.query(`DROP TRIGGER "task_tally_${event}" ON "mgmt"."task"`);
    }
    await queryRunner.query(`DROP FUNCTION "mgmt"."task_tally_closed"()`);
    await queryRunner.query(`DROP TABLE "mgmt"."task_tally"`);
    await queryRunner.query(`DROP INDEX "mgmt"."task_open_idx"`);
    await queryRunner.query(`DROP INDEX "mgmt"."task_status_id_idx"`);
    await queryRunner.query(
      `CREATE INDEX "task_status_priority_idx" ON "mgmt"."task" ("status", "priority", "created_at")`,
    );
    for (const event of ['insert', 'update', 'delete', 'truncate']) {
      await queryRunner.query(`DROP TRIGGER "embed_task_chunk_count_${event}" ON "mgmt"."embed_task_chunk"`);
    }
    await queryRunner.query(`DROP FUNCTION "mgmt"."embed_task_chunk_count_truncate"()`);
    await queryRunner.query(`DROP FUNCTION "mgmt"."embed_task_chunk_count"()`);
    await queryRunner.query(
      `DROP FUNCTION "mgmt"."task_add_link_counts"(bigint[], bigint[], bigint[], bigint[], bigint[], timestamptz[])`,
    );
    await queryRunner.query(`DROP TRIGGER "task_status_from_counts" ON "mgmt"."task"`);
    await queryRunner.query(`DROP FUNCTION "mgmt"."task_status_from_counts"()`);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION "mgmt"."task_touch_updated_at"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.updated_at := now();
        RETURN NEW;
      END $$`);
    await queryRunner.query(`
      ALTER TABLE "mgmt"."task" DROP COLUMN "last_done_at", DROP COLUMN "failed", DROP COLUMN "done",
        DROP COLUMN "in_progress", DROP COLUMN "pending"`);
  }
}
