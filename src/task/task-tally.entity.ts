import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Delta rows of the closed tasks' totals by status (see the task-counters migration): a trigger on mgmt.task appends
 * one per status for each statement that closes, reopens, changes or deletes closed tasks; the sum of a status's rows
 * is its total. Never updated in place, so no transaction ever waits for another here.
 */
@Entity({ schema: 'mgmt', name: 'task_tally' })
export class TaskTallyEntity {
  @PrimaryGeneratedColumn('identity', {
    type: 'bigint',
    generatedIdentity: 'BY DEFAULT',
    primaryKeyConstraintName: 'task_tally_pkey',
  })
  id: number;

  /** completed, failed or cancelled. */
  @Column({ type: 'text' })
  status: string;

  @Column({ type: 'bigint', default: 0 })
  tasks: number;

  @Column({ type: 'bigint', default: 0 })
  pending: number;

  @Column({ name: 'in_progress', type: 'bigint', default: 0 })
  inProgress: number;

  @Column({ type: 'bigint', default: 0 })
  done: number;

  @Column({ type: 'bigint', default: 0 })
  failed: number;
}
