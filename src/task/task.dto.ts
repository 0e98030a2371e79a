import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsOptional } from 'class-validator';
import { ValidateEachInSlices } from '../common/sliced-validation';
import { PageMetaDto, PageQueryDto } from '../common/paging.dto';
import {
  BooleanQueryField,
  EnumField,
  IdListField,
  IntField,
  IntQueryField,
  MAX_ID,
  MetadataField,
  TextField,
} from '../common/validation';
import { CHUNK_STATUSES, ChunkStatus, TASK_STATUSES, TaskStatus } from './task-status';

/**
 * Arrays may hold more items than the configured per-request limit here, so that the service can answer 413
 * naming the limit; this cap only stops absurd bodies before validation walks them.
 */
const ARRAY_HARD_CAP = 1_000_000;

export class ChunkInputDto {
  @TextField({ description: 'Text to embed (at most TASK_MAX_TEXT_CHARS characters)', example: 'PostgreSQL is a relational database.' })
  text: string;

  @MetadataField({ description: 'Free metadata kept with the chunk', optional: true })
  metadata?: Record<string, unknown>;
}

export class AddChunksDto {
  @ApiPropertyOptional({ type: [ChunkInputDto], description: 'New chunks to create and add' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(ARRAY_HARD_CAP)
  @ValidateEachInSlices(() => ChunkInputDto)
  chunks?: ChunkInputDto[];

  @IdListField({ description: 'Ids of existing chunks to add', example: [1, 2], optional: true, maxItems: ARRAY_HARD_CAP })
  chunkIds?: number[];
}

export class CreateTaskDto extends AddChunksDto {
  @TextField({ description: 'A name for people', maxLength: 500, example: 'handbook v3' })
  name: string;

  @TextField({ description: 'Model id to embed with', maxLength: 500, example: 'sentence-transformers/all-MiniLM-L6-v2' })
  model: string;

  @IntField({ description: 'Higher runs first', optional: true, min: -1000, max: 1000, default: 0 })
  priority?: number;

  @MetadataField({ description: 'Free metadata kept with the task', optional: true })
  metadata?: Record<string, unknown>;
}

/**
 * Request examples for Swagger UI, each one that works on a fresh database in this order (openapi.e2e-spec.ts
 * sends them): the task becomes task 1 with chunks 1 and 2.
 */
export const TASK_BODY_EXAMPLES = {
  create: {
    handbook: {
      summary: 'A task with two new chunks (as in the README)',
      value: {
        name: 'handbook',
        model: 'sentence-transformers/all-MiniLM-L6-v2',
        priority: 0,
        chunks: [{ text: 'PostgreSQL is a relational database.' }, { text: 'Embeddings are vectors.', metadata: { page: 2 } }],
      },
    },
  },
  append: {
    newChunks: { summary: 'New chunks', value: { chunks: [{ text: 'A chunk added later.', metadata: { page: 3 } }] } },
    existingChunks: { summary: 'Chunks that already exist, by id', value: { chunkIds: [1, 2] } },
  },
};

export class TaskListQueryDto extends PageQueryDto {
  @EnumField(TASK_STATUSES, { description: 'Only tasks in this status', optional: true })
  status?: TaskStatus;

  @IntQueryField({
    description: 'Keyset cursor: only tasks older than this task id (the `next` link sets it)',
    optional: true,
    min: 1,
    max: MAX_ID,
  })
  after?: number;
}

export class TaskChunkListQueryDto extends PageQueryDto {
  @EnumField(CHUNK_STATUSES, { description: "Only chunks in this status within the task", optional: true })
  status?: ChunkStatus;

  @IntQueryField({
    description: 'Keyset cursor from the `next` link: only chunks added after it',
    optional: true,
    min: 0,
    max: MAX_ID,
  })
  after?: number;
}

export class TaskExportQueryDto {
  @TextField({ description: "Whose vectors (default: the task's model)", optional: true, maxLength: 500 })
  model?: string;

  @BooleanQueryField({ description: 'Include each chunk\'s text', optional: true, default: true })
  text: boolean = true;

  @BooleanQueryField({ description: 'Include each chunk\'s metadata', optional: true, default: true })
  metadata: boolean = true;
}

export class TaskProgressDto {
  @ApiProperty({ description: 'Chunks in the task' })
  total: number;
  @ApiProperty()
  pending: number;
  @ApiProperty()
  inProgress: number;
  @ApiProperty()
  done: number;
  @ApiProperty()
  failed: number;
  @ApiProperty({ description: 'Settled chunks (done or failed) as a percentage of the total, 0–100' })
  percent: number;
  @ApiProperty({ type: Number, nullable: true, description: 'Chunks done per second since the task started' })
  chunksPerSecond: number | null;
  @ApiProperty({ type: Number, nullable: true, description: 'Seconds until the remaining chunks are done' })
  etaSeconds: number | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  estimatedCompletionAt: string | null;
}

export class TaskUsageDto {
  @ApiProperty({
    description:
      "Tokens embedding the task's done chunks cost: the model's own count, or a remote's usage apportioned over the " +
      'texts of each request',
  })
  tokens: number;
  @ApiProperty({ description: 'Tokens not spent because a vector was reused (by content hash) or shared in a batch' })
  savedTokens: number;
  @ApiProperty({
    type: Number,
    nullable: true,
    description: "The tokens at the model's price_per_million_tokens (models file); null while no price was known",
  })
  cost: number | null;
}

export class TaskResponseDto {
  @ApiProperty()
  id: number;
  @ApiProperty()
  name: string;
  @ApiProperty()
  model: string;
  @ApiProperty({ enum: TASK_STATUSES, description: 'Derived from the chunks: cancelled is the only status set by hand' })
  status: TaskStatus;
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'Why an open task makes no progress, e.g. "no worker serves model X" (no live worker heartbeat lists its ' +
      'model); null otherwise',
    example: null,
  })
  waiting: string | null;
  @ApiProperty()
  priority: number;
  @ApiProperty({ type: 'object', additionalProperties: true })
  metadata: Record<string, unknown>;
  @ApiProperty({ type: String, nullable: true })
  lastError: string | null;
  @ApiProperty({ type: String, format: 'date-time' })
  createdAt: string;
  @ApiProperty({ type: String, format: 'date-time' })
  updatedAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  startedAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  finishedAt: string | null;
  @ApiProperty({ type: TaskProgressDto })
  progress: TaskProgressDto;
  @ApiProperty({ type: TaskUsageDto })
  usage: TaskUsageDto;
}

export class TaskPageDto extends PageMetaDto {
  @ApiProperty({ type: [TaskResponseDto] })
  items: TaskResponseDto[];
}

export class TaskChunkResponseDto {
  @ApiProperty()
  chunkId: number;
  @ApiProperty({ enum: CHUNK_STATUSES })
  status: ChunkStatus;
  @ApiProperty({ description: 'Claims so far' })
  attempts: number;
  @ApiProperty({ type: String, nullable: true })
  lastError: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  doneAt: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Worker holding the chunk while in progress' })
  leaseOwner: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  leaseExpiresAt: string | null;
  @ApiProperty({ description: 'Hex sha-256 of the text' })
  contentHash: string;
  @ApiProperty()
  text: string;
}

export class TaskChunkPageDto extends PageMetaDto {
  @ApiProperty({ type: [TaskChunkResponseDto] })
  items: TaskChunkResponseDto[];
}

export class TaskCountsDto {
  @ApiProperty()
  pending: number;
  @ApiProperty()
  inProgress: number;
  @ApiProperty()
  done: number;
  @ApiProperty()
  failed: number;
}

export class TaskCountDriftDto {
  @ApiProperty()
  taskId: number;
  @ApiProperty({ type: TaskCountsDto, description: "The task's counters" })
  stored: TaskCountsDto;
  @ApiProperty({ type: TaskCountsDto, description: 'A recount of its links' })
  counted: TaskCountsDto;
}

export class StatusTotalsDto {
  @ApiProperty()
  tasks: number;
  @ApiProperty()
  pending: number;
  @ApiProperty()
  inProgress: number;
  @ApiProperty()
  done: number;
  @ApiProperty()
  failed: number;
}

export class TallyDriftDto {
  @ApiProperty({ enum: ['completed', 'failed', 'cancelled'] })
  status: string;
  @ApiProperty({ type: StatusTotalsDto, description: 'The tally of closed tasks in this status' })
  stored: StatusTotalsDto;
  @ApiProperty({ type: StatusTotalsDto, description: 'A count of those task rows and a sum of their counters' })
  counted: StatusTotalsDto;
}

export class TaskCountsQueryDto {
  @IntQueryField({
    description: 'Check only this task (default: every task, which reads every link)',
    optional: true,
    min: 1,
    max: MAX_ID,
  })
  taskId?: number;
}

export class TaskCountCheckDto {
  @ApiProperty({ description: 'Tasks checked' })
  checked: number;
  @ApiProperty({ type: [TaskCountDriftDto], description: 'Tasks whose counters differ from their links (empty: none)' })
  drifted: TaskCountDriftDto[];
  @ApiProperty({
    type: [TallyDriftDto],
    description: 'Closed-task totals (GET /metrics, list totals) that differ from the task rows; checked without taskId',
  })
  tallyDrifted: TallyDriftDto[];
  @ApiProperty({ description: 'Tasks whose counters were set to the recount, plus 1 if the tally was rebuilt (POST …/repair)' })
  repaired: number;
}

export class ChunkTaskLinkDto {
  @ApiProperty()
  taskId: number;
  @ApiProperty({ enum: CHUNK_STATUSES })
  status: ChunkStatus;
  @ApiProperty()
  attempts: number;
  @ApiProperty({ type: String, nullable: true })
  lastError: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  doneAt: string | null;
}

export class ChunkResponseDto {
  @ApiProperty()
  id: number;
  @ApiProperty()
  text: string;
  @ApiProperty({ description: 'Hex sha-256 of the text' })
  contentHash: string;
  @ApiProperty({ type: 'object', additionalProperties: true })
  metadata: Record<string, unknown>;
  @ApiProperty({ type: String, format: 'date-time' })
  createdAt: string;
  @ApiProperty({ type: [ChunkTaskLinkDto], description: 'The tasks this chunk belongs to, with its status in each' })
  tasks: ChunkTaskLinkDto[];
}
