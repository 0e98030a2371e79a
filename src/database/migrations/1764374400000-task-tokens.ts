import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tokens and cost per task, beside the per-task counters: `tokens` embedding the task's done links cost,
 * `saved_tokens` that reusing vectors saved them, and `cost` those tokens at the model's price (NULL while no price
 * was known). The sender adds to them in the transaction that marks the links done (SenderRepository.markDone), so
 * they stay exact across crashes and reading them reads one row. Columns with a constant default are added without
 * rewriting the table.
 */
export class TaskTokens1764374400000 implements MigrationInterface {
  name = 'TaskTokens1764374400000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "mgmt"."task"
        ADD "tokens" bigint NOT NULL DEFAULT 0,
        ADD "saved_tokens" bigint NOT NULL DEFAULT 0,
        ADD "cost" numeric`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "mgmt"."task" DROP COLUMN "cost", DROP COLUMN "saved_tokens", DROP COLUMN "tokens"`,
    );
  }
}
