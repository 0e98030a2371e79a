import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A running sender and the models it serves, kept alive by its heartbeat (see the worker-heartbeat migration). */
@Entity({ schema: 'mgmt', name: 'worker' })
export class WorkerEntity {
  /** WORKER_ID: the name the sender also writes into lease_owner. */
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'worker_pkey' })
  id: string;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  models: string[];

  @Column({ name: 'heartbeat_at', type: 'timestamptz', default: () => 'now()' })
  heartbeatAt: Date;

  /** Past this the worker counts as gone, row or not. */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}
