import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AppConfig, configuredModelIds } from '../config/app-config';
import { Page, pageLink } from '../common/paging.dto';
import { ExportLimits, TaskExport } from './export-limits';
import { toProgress } from './task-progress';
import {
  AddChunksDto,
  ChunkResponseDto,
  CreateTaskDto,
  TaskChunkListQueryDto,
  TaskChunkResponseDto,
  TaskExportQueryDto,
  TaskListQueryDto,
  TaskResponseDto,
} from './task.dto';
import { ChunkRow, ChunkLinkRow, TaskChunkRow, TaskRepository, TaskRow } from './task.repository';
import { ChunkStatus, TaskStatus } from './task-status';
import { TaskError, TaskErrorCode } from './task.errors';
import { TaskTallyRepository } from './task-tally.repository';
import { WorkerRepository } from './worker.repository';

/** The rules of tasks: what each state allows, and that every write is whole or not at all. */
@Injectable()
export class TaskService {
  constructor(
    private readonly repository: TaskRepository,
    private readonly tally: TaskTallyRepository,
    private readonly config: AppConfig,
    private readonly exports: ExportLimits,
    private readonly workers: WorkerRepository,
  ) {}

  async create(dto: CreateTaskDto): Promise<TaskResponseDto> {
    this.assertServedModel(dto.model);
    this.assertWithinLimit(dto);
    const id = await this.repository.transaction(async (manager) => {
      const taskId = await this.repository.insertTask(manager, {
        name: dto.name,
        model: dto.model,
        priority: dto.priority ?? 0,
        metadata: dto.metadata ?? {},
      });
      await this.addChunks(manager, taskId, dto);
      return taskId;
    });
    return this.get(id);
  }

  async append(id: number, dto: AddChunksDto): Promise<TaskResponseDto> {
    this.assertWithinLimit(dto);
    await this.repository.transaction(async (manager) => {
      const task = await this.lockExisting(manager, id);
      this.assertStatus(task, ['pending', 'running'], 'add chunks to');
      await this.addChunks(manager, id, dto);
    });
    return this.get(id);
  }

  async get(id: number): Promise<TaskResponseDto> {
    const task = await this.repository.findTask(id);
    if (!task) throw notFound(`task ${id} not found`);
    const [waiting] = await this.waitingFor([task]);
    return toTaskResponse(task, waiting);
  }

  /** Newest first; `next` continues after the last task (keyset), whatever was added or finished meanwhile. */
  async list(query: TaskListQueryDto): Promise<Page<TaskResponseDto>> {
    const [rows, totals] = await Promise.all([this.repository.listTasks(query), this.tally.totals()]);
    const total = query.status ? totals[query.status].tasks : Object.values(totals).reduce((n, t) => n + t.tasks, 0);
    const items = rows.slice(0, query.limit);
    const next =
      rows.length > query.limit
        ? pageLink('/tasks', { status: query.status, limit: query.limit, after: items[items.length - 1].id })
        : null;
    const waiting = await this.waitingFor(items);
    const tasks = items.map((row, i) => toTaskResponse(row, waiting[i]));
    return { items: tasks, total, limit: query.limit, offset: query.offset, next };
  }

  /** In the order the chunks were added; the total is the task's counter for the status, never a count of links. */
  async listChunks(id: number, query: TaskChunkListQueryDto): Promise<Page<TaskChunkResponseDto>> {
    const task = await this.get(id);
    const rows = await this.repository.listTaskChunks(id, query);
    const items = rows.slice(0, query.limit);
    const next =
      rows.length > query.limit
        ? pageLink(`/tasks/${id}/chunks`, { status: query.status, limit: query.limit, after: items[items.length - 1].id })
        : null;
    const total = query.status ? task.progress[STATUS_COUNTS[query.status]] : task.progress.total;
    return { items: items.map(toTaskChunkResponse), total, limit: query.limit, offset: query.offset, next };
  }

  /**
   * The stored vectors of the task's chunks as JSON lines, in the order the chunks were added, read a page at a time
   * (streamed). Takes one of TASK_EXPORT_MAX_CONCURRENT slots first (429 beyond them), given back by `release`.
   */
  async exportEmbeddings(id: number, query: TaskExportQueryDto): Promise<TaskExport> {
    const release = this.exports.admit();
    try {
      const task = await this.get(id);
      const shape = { model: query.model ?? task.model, text: query.text, metadata: query.metadata };
      const lines = this.repository.exportLines(id, shape, this.exports.reads);
      return { lines, idleTimeoutMs: this.exports.idleTimeoutMs, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  async getChunk(id: number): Promise<ChunkResponseDto> {
    const chunk = await this.repository.findChunk(id);
    if (!chunk) throw notFound(`chunk ${id} not found`);
    return toChunkResponse(chunk, await this.repository.findChunkLinks(id));
  }

  async cancel(id: number): Promise<TaskResponseDto> {
    await this.repository.transaction(async (manager) => {
      await this.repository.closeDeliveryGate(manager, id);
      const task = await this.lockExisting(manager, id);
      this.assertStatus(task, ['pending', 'running'], 'cancel');
      await this.repository.allowCancelledChange(manager);
      await this.repository.markCancelled(manager, id);
    });
    return this.get(id);
  }

  /**
   * Failed chunks go back to pending; a cancelled task is resumed as well, its pending chunks going on where they
   * stopped (its status follows its chunks again).
   */
  async retry(id: number): Promise<TaskResponseDto> {
    await this.repository.transaction(async (manager) => {
      const task = await this.lockExisting(manager, id);
      const cancelled = task.status === 'cancelled';
      if (!cancelled && task.failed === 0) throw conflict(`task ${id} has no failed chunks to retry`);
      // The cancelled-status trigger lets only this transaction take the task out of `cancelled`.
      await this.repository.allowCancelledChange(manager);
      await this.repository.requeueFailed(manager, id);
      // After the requeue, so the status is derived from the chunks as they now are.
      if (cancelled) await this.repository.markResumed(manager, id);
    });
    return this.get(id);
  }

  async remove(id: number): Promise<void> {
    await this.repository.transaction(async (manager) => {
      await this.repository.closeDeliveryGate(manager, id);
      const task = await this.lockExisting(manager, id);
      if (task.status === 'running') throw conflict(`task ${id} is running; cancel it before deleting it`);
      await this.repository.deleteTask(manager, id);
    });
  }

  private async addChunks(manager: EntityManager, taskId: number, dto: AddChunksDto): Promise<void> {
    const chunks = dto.chunks ?? [];
    const chunkIds = [...new Set(dto.chunkIds ?? [])];
    if (chunks.length + chunkIds.length === 0) {
      throw invalidInput('chunks or chunkIds must hold at least one item');
    }
    const missing = await this.repository.findMissingChunkIds(manager, chunkIds);
    if (missing.length > 0) throw invalidInput(`chunkIds: no chunk with id ${missing.slice(0, 20).join(', ')}`);
    const newChunks = chunks.map((chunk) => ({ text: chunk.text, metadata: chunk.metadata ?? {} }));
    await this.repository.insertChunks(manager, taskId, newChunks);
    await this.repository.linkChunks(manager, taskId, chunkIds);
  }

  private assertWithinLimit(dto: AddChunksDto): void {
    const count = (dto.chunks?.length ?? 0) + (dto.chunkIds?.length ?? 0);
    const limit = this.config.tasks.maxChunksPerRequest;
    if (count > limit) {
      const message = `at most ${limit} chunks per request (chunks + chunkIds); got ${count}`;
      throw new TaskError(TaskErrorCode.TooManyChunks, message);
    }
    const maxChars = this.config.tasks.maxTextChars;
    const long = (dto.chunks ?? []).findIndex((chunk) => chunk.text.length > maxChars);
    if (long >= 0) {
      const message = `chunks.${long}.text: at most ${maxChars} characters; got ${dto.chunks![long].text.length}`;
      throw new TaskError(TaskErrorCode.TextTooLong, message);
    }
  }

  /** An instance that serves models only takes tasks it can embed; an API-only one (no model) takes any. */
  private assertServedModel(model: string): void {
    const served = configuredModelIds(this.config);
    if (served.length > 0 && !served.includes(model)) {
      throw invalidInput(`model: "${model}" is not served by this service; served models: ${served.join(', ')}`);
    }
  }

  /**
   * Why each open task waits, when it does: no live worker (heartbeat row) serves its model. One read of the small
   * worker table, and only when some task is open.
   */
  private async waitingFor(rows: TaskRow[]): Promise<(string | null)[]> {
    const isOpen = (row: TaskRow) => row.status === 'pending' || row.status === 'running';
    if (!rows.some(isOpen)) return rows.map(() => null);
    const live = await this.workers.liveModels();
    return rows.map((row) => (isOpen(row) && !live.has(row.model) ? `no worker serves model ${row.model}` : null));
  }

  private async lockExisting(manager: EntityManager, id: number): Promise<TaskRow> {
    const task = await this.repository.lockTask(manager, id);
    if (!task) throw notFound(`task ${id} not found`);
    return task;
  }

  private assertStatus(task: TaskRow, allowed: TaskStatus[], action: string): void {
    if (!allowed.includes(task.status)) {
      throw conflict(`cannot ${action} task ${task.id}: it is ${task.status} (allowed: ${allowed.join(', ')})`);
    }
  }
}

const notFound = (message: string) => new TaskError(TaskErrorCode.NotFound, message);
const conflict = (message: string) => new TaskError(TaskErrorCode.Conflict, message);
const invalidInput = (message: string) => new TaskError(TaskErrorCode.InvalidInput, message);

/** The progress field that counts a chunk status. */
const STATUS_COUNTS: Record<ChunkStatus, 'pending' | 'inProgress' | 'done' | 'failed'> = {
  pending: 'pending',
  in_progress: 'inProgress',
  done: 'done',
  failed: 'failed',
};

const iso = (date: Date | null) => (date ? new Date(date).toISOString() : null);

function toTaskResponse(row: TaskRow, waiting: string | null): TaskResponseDto {
  return {
    id: row.id,
    name: row.name,
    model: row.model,
    status: row.status,
    waiting,
    priority: row.priority,
    metadata: row.metadata,
    lastError: row.last_error,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    progress: toProgress(row),
    usage: { tokens: row.tokens, savedTokens: row.saved_tokens, cost: row.cost === null ? null : Number(row.cost) },
  };
}

function toTaskChunkResponse(row: TaskChunkRow): TaskChunkResponseDto {
  return {
    chunkId: row.chunk_id,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    doneAt: iso(row.done_at),
    leaseOwner: row.lease_owner,
    leaseExpiresAt: iso(row.lease_expires_at),
    contentHash: row.content_hash,
    text: row.text,
  };
}

function toChunkResponse(row: ChunkRow, links: ChunkLinkRow[]): ChunkResponseDto {
  return {
    id: row.id,
    text: row.text,
    contentHash: row.content_hash,
    metadata: row.metadata,
    createdAt: new Date(row.created_at).toISOString(),
    tasks: links.map((link) => ({
      taskId: link.task_id,
      status: link.status,
      attempts: link.attempts,
      lastError: link.last_error,
      doneAt: iso(link.done_at),
    })),
  };
}
