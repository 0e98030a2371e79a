import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the pipeline needs: a retry time on each link (backoff between attempts), the built-in receiver's vector
 * table, and a notification whenever work is added, so idle senders wake at once (API and plain SQL alike).
 */
export class Pipeline1764115200000 implements MigrationInterface {
  name = 'Pipeline1764115200000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "mgmt"."embed_task_chunk" ADD "available_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()`,
    );
    await queryRunner.query(`
      CREATE TABLE "mgmt"."embedding" (
        "chunk_id" bigint NOT NULL,
        "model" text NOT NULL,
        "dimensions" integer NOT NULL,
        "embedding" real[] NOT NULL,
        "content_hash" text NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "embedding_pkey" PRIMARY KEY ("chunk_id", "model"),
        CONSTRAINT "embedding_chunk_fk" FOREIGN KEY ("chunk_id") REFERENCES "mgmt"."embed_chunk"("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);
    await queryRunner.query(`CREATE INDEX "embedding_model_hash_idx" ON "mgmt"."embedding" ("model", "content_hash")`);
    await queryRunner.query(`
      CREATE FUNCTION "mgmt"."notify_work"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('embedding_tasks_work', '');
        RETURN NULL;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER "embed_task_chunk_work" AFTER INSERT ON "mgmt"."embed_task_chunk"
      FOR EACH STATEMENT EXECUTE FUNCTION "mgmt"."notify_work"()`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "embed_task_chunk_work" ON "mgmt"."embed_task_chunk"`);
    await queryRunner.query(`DROP FUNCTION "mgmt"."notify_work"()`);
    await queryRunner.query(`DROP TABLE "mgmt"."embedding"`);
    await queryRunner.query(`ALTER TABLE "mgmt"."embed_task_chunk" DROP COLUMN "available_at"`);
  }
}
