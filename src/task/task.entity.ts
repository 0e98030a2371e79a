import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { TaskStatus } from './task-status';

@Entity({ schema: 'mgmt', name: 'task' })
@Check('task_status_check', `"status" IN ('pending', 'running', 'completed', 'failed', 'cancelled')`)
// Counters are never negative (migration 1765000000000, docs/sql-writers.md).
@Check('task_counts_check', `"pending" >= 0 AND "in_progress" >= 0 AND "done" >= 0 AND "failed" >= 0`)
// GET /tasks?status=…, newest first (keyset on id).
@Index('task_status_id_idx', ['status', 'id'])
// The claim path: open tasks only, so finished ones cost nothing however many pile up.
@Index('task_open_idx', ['model', 'priority', 'id'], { where: `"status" IN ('pending', 'running')` })
export class TaskEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'BY DEFAULT', primaryKeyConstraintName: 'task_pkey' })
  id: number;

  @Column({ type: 'text' })
  name: string;

  /** The model id the task's chunks are embedded with. */
  @Column({ type: 'text' })
  model: string;

  @Column({ type: 'text', default: 'pending' })
  status: TaskStatus;

  /** Higher runs first. */
  @Column({ type: 'integer', default: 0 })
  priority: number;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata: Record<string, unknown>;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt: Date | null;

  /**
   * The task's links by status, kept by statement-level triggers on embed_task_chunk in the same transaction as
   * every change to them (see the task-counters migration); `status` is derived from them by a trigger.
   */
  @Column({ type: 'bigint', default: 0 })
  pending: number;

  @Column({ name: 'in_progress', type: 'bigint', default: 0 })
  inProgress: number;

  @Column({ type: 'bigint', default: 0 })
  done: number;

  @Column({ type: 'bigint', default: 0 })
  failed: number;

  /** When a link of the task last became done (for the rate and the ETA). */
  @Column({ name: 'last_done_at', type: 'timestamptz', nullable: true })
  lastDoneAt: Date | null;

  /**
   * Tokens embedding the task's done links cost, and that reusing vectors saved them, added by the sender in the
   * transaction that marks the links done (see the task-tokens migration).
   */
  @Column({ type: 'bigint', default: 0 })
  tokens: number;

  @Column({ name: 'saved_tokens', type: 'bigint', default: 0 })
  savedTokens: number;

  /** Those tokens at the model's price per million (models file); null while no price was known. */
  @Column({ type: 'numeric', nullable: true })
  cost: string | null;
}
