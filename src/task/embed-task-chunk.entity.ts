import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { EmbedChunkEntity } from './embed-chunk.entity';
import { ChunkStatus } from './task-status';
import { TaskEntity } from './task.entity';

/** One chunk's work within one task: its status, attempts and lease. */
@Entity({ schema: 'mgmt', name: 'embed_task_chunk' })
@Unique('embed_task_chunk_task_chunk_key', ['taskId', 'chunkId'])
@Check('embed_task_chunk_status_check', `"status" IN ('pending', 'in_progress', 'done', 'failed')`)
@Check('embed_task_chunk_attempts_check', `"attempts" >= 0`)
// Claiming: a task's pending links that are due, oldest first; as small as the pending links are few.
@Index('embed_task_chunk_claim_idx', ['taskId', 'availableAt', 'id'], { where: `"status" = 'pending'` })
// A task's links of one status in the order they were added: keyset pages, export, retry, the drift check.
@Index('embed_task_chunk_task_status_id_idx', ['taskId', 'status', 'id'])
// Reclaiming: leases that have run out.
@Index('embed_task_chunk_lease_idx', ['leaseExpiresAt'], { where: `"status" = 'in_progress'` })
// GET /chunks/:id, and the foreign key's check when a chunk is deleted.
@Index('embed_task_chunk_chunk_idx', ['chunkId'])
export class EmbedTaskChunkEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'BY DEFAULT', primaryKeyConstraintName: 'embed_task_chunk_pkey' })
  id: number;

  @Column({ name: 'task_id', type: 'bigint' })
  taskId: number;

  @ManyToOne(() => TaskEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'task_id', foreignKeyConstraintName: 'embed_task_chunk_task_fk' })
  task?: TaskEntity;

  @Column({ name: 'chunk_id', type: 'bigint' })
  chunkId: number;

  @ManyToOne(() => EmbedChunkEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'chunk_id', foreignKeyConstraintName: 'embed_task_chunk_chunk_fk' })
  chunk?: EmbedChunkEntity;

  @Column({ type: 'text', default: 'pending' })
  status: ChunkStatus;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'lease_owner', type: 'text', nullable: true })
  leaseOwner: string | null;

  @Column({ name: 'lease_expires_at', type: 'timestamptz', nullable: true })
  leaseExpiresAt: Date | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  /** Not claimed before this time: the backoff after a transient failure. */
  @Column({ name: 'available_at', type: 'timestamptz', default: () => 'now()' })
  availableAt: Date;

  @Column({ name: 'done_at', type: 'timestamptz', nullable: true })
  doneAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
