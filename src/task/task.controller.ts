import { Body, Controller, Delete, Get, HttpCode, Post, Query, Res, UseFilters } from '@nestjs/common';
import {
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { Response } from 'express';
import { ApiErrors } from '../common/api-errors.decorator';
import { sendNdjson } from '../common/ndjson';
import { IdParam } from '../common/id.pipe';
import {
  AddChunksDto,
  CreateTaskDto,
  TASK_BODY_EXAMPLES,
  TaskChunkListQueryDto,
  TaskChunkPageDto,
  TaskExportQueryDto,
  TaskListQueryDto,
  TaskPageDto,
  TaskResponseDto,
} from './task.dto';
import { TaskExceptionFilter } from './task-exception.filter';
import { TaskService } from './task.service';

@ApiTags('tasks')
@Controller('tasks')
@UseFilters(TaskExceptionFilter)
export class TaskController {
  constructor(private readonly service: TaskService) {}

  @Post()
  @ApiOperation({ summary: 'Create a task with its chunks, in one transaction' })
  @ApiBody({ type: CreateTaskDto, examples: TASK_BODY_EXAMPLES.create })
  @ApiCreatedResponse({ type: TaskResponseDto })
  @ApiErrors(400, 413)
  create(@Body() dto: CreateTaskDto): Promise<TaskResponseDto> {
    return this.service.create(dto);
  }

  @Get()
  @ApiOperation({ summary: 'List tasks, newest first' })
  @ApiOkResponse({ type: TaskPageDto })
  @ApiErrors(400)
  list(@Query() query: TaskListQueryDto): Promise<TaskPageDto> {
    return this.service.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A task with its progress' })
  @ApiOkResponse({ type: TaskResponseDto })
  @ApiErrors(400, 404)
  get(@IdParam() id: number): Promise<TaskResponseDto> {
    return this.service.get(id);
  }

  @Post(':id/chunks')
  @HttpCode(200)
  @ApiOperation({ summary: 'Add chunks to a pending or running task' })
  @ApiBody({ type: AddChunksDto, examples: TASK_BODY_EXAMPLES.append })
  @ApiOkResponse({ type: TaskResponseDto })
  @ApiErrors(400, 404, 409, 413)
  append(@IdParam() id: number, @Body() dto: AddChunksDto): Promise<TaskResponseDto> {
    return this.service.append(id, dto);
  }

  @Get(':id/chunks')
  @ApiOperation({ summary: "A task's chunks with their status and last error" })
  @ApiOkResponse({ type: TaskChunkPageDto })
  @ApiErrors(400, 404)
  listChunks(@IdParam() id: number, @Query() query: TaskChunkListQueryDto): Promise<TaskChunkPageDto> {
    return this.service.listChunks(id, query);
  }

  @Get(':id/embeddings')
  @ApiOperation({
    summary: "Stream the task's stored vectors as JSON lines {chunk_id, text?, metadata?, model, embedding}",
    description:
      'In the order the chunks were added; chunks without a stored vector for the model are left out. At most ' +
      'TASK_EXPORT_MAX_CONCURRENT exports at once (429 with Retry-After beyond); a client that reads nothing for ' +
      'TASK_EXPORT_IDLE_TIMEOUT_MS has its response ended (cut short).',
  })
  @ApiProduces('application/x-ndjson')
  @ApiOkResponse({ description: 'One JSON object per line', schema: { type: 'string' } })
  @ApiErrors(400, 404, 429)
  async exportEmbeddings(
    @IdParam() id: number,
    @Query() query: TaskExportQueryDto,
    @Res() response: Response,
  ): Promise<void> {
    const stream = await this.service.exportEmbeddings(id, query);
    try {
      await sendNdjson(response, stream.lines, { idleTimeoutMs: stream.idleTimeoutMs });
    } finally {
      stream.release();
    }
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a pending or running task; its chunks are no longer claimed' })
  @ApiOkResponse({ type: TaskResponseDto })
  @ApiErrors(400, 404, 409)
  cancel(@IdParam() id: number): Promise<TaskResponseDto> {
    return this.service.cancel(id);
  }

  @Post(':id/retry')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Put failed chunks back to pending, with their attempts reset; a cancelled task is resumed as well',
  })
  @ApiOkResponse({ type: TaskResponseDto })
  @ApiErrors(400, 404, 409)
  retry(@IdParam() id: number): Promise<TaskResponseDto> {
    return this.service.retry(id);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a task that is not running (its chunks stay)' })
  @ApiNoContentResponse()
  @ApiErrors(400, 404, 409)
  remove(@IdParam() id: number): Promise<void> {
    return this.service.remove(id);
  }
}
