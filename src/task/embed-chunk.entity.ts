import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ schema: 'mgmt', name: 'embed_chunk' })
export class EmbedChunkEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'BY DEFAULT', primaryKeyConstraintName: 'embed_chunk_pkey' })
  id: number;

  @Column({ type: 'text' })
  text: string;

  /**
   * Hex sha-256 of the UTF-8 text. A trigger (see the initial migration) computes it on every insert and
   * update, so rows inserted with plain SQL get it too and nobody can store a wrong one. Not indexed: no query looks
   * chunks up by hash (reuse looks in mgmt.embedding), and the index was the largest of the schema.
   */
  @Column({ name: 'content_hash', type: 'text' })
  contentHash: string;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  metadata: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
