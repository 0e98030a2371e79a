import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { EmbedChunkEntity } from '../task/embed-chunk.entity';

/** A stored vector: one row per (chunk, model), written by the built-in receiver with an upsert. */
@Entity({ schema: 'mgmt', name: 'embedding' })
@Index('embedding_model_hash_idx', ['model', 'contentHash'])
export class EmbeddingEntity {
  @PrimaryColumn({ name: 'chunk_id', type: 'bigint', primaryKeyConstraintName: 'embedding_pkey' })
  chunkId: number;

  @ManyToOne(() => EmbedChunkEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'chunk_id', foreignKeyConstraintName: 'embedding_chunk_fk' })
  chunk?: EmbedChunkEntity;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'embedding_pkey' })
  model: string;

  @Column({ type: 'integer' })
  dimensions: number;

  @Column({ type: 'real', array: true })
  embedding: number[];

  @Column({ name: 'content_hash', type: 'text' })
  contentHash: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
