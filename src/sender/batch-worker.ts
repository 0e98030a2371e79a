import { ClaimedBatch } from './sender.repository';

/**
 * Does one claimed batch: embeds it and has it delivered, then settles every link (through BatchRunner). Abstract so
 * it serves as the injection token, chosen by SENDER_MODE: LocalBatchWorker embeds in-process (`local`),
 * RemoteBatchWorker has another instance embed and deliver (`remote`).
 */
export abstract class BatchWorker {
  /** Where batches are embedded, for the start-up log line. */
  abstract readonly description: string;
  /**
   * Whether served models can appear while the process runs (learnt from a remote that may be down at start-up).
   * When they cannot and none is served, the sender stays idle.
   */
  abstract readonly modelsCanAppear: boolean;
  /** The models whose tasks the sender claims; empty while none is known. */
  abstract servedModels(): Promise<string[]>;
  abstract process(batch: ClaimedBatch, batchId: string): Promise<void>;
}
