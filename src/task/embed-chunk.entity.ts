import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ schema: 'mgmt', name: 'embed_chunk' })
export class EmbedChunkEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'BY DEFAULT', primaryKeyConstraintName: 'embed_chunk_pkey' })
  id: number;

  @Column({ type: 'text' })
  text: string;

  /**
   * Hex sha-256 of the UTF-8 text. A trigger (see the initial migration) computes it on every insert and
   * update, so rows inserted with plain SQL get it too and nobody can store a wrong one.
   */
  @Index('embed_chunk_content_hash_idx')
  @Column({ name: 'content_hash', type: 'text' })
  contentHash: string;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
