import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { TaskStatus } from './task-status';

@Entity({ schema: 'mgmt', name: 'task' })
@Check('task_status_check', `"status" IN ('pending', 'running', 'completed', 'failed', 'cancelled')`)
@Index('task_status_priority_idx', ['status', 'priority', 'createdAt'])
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
}
