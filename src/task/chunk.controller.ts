import { Controller, Get, Query, UseFilters } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-errors.decorator';
import { IdParam } from '../common/id.pipe';
import { ReceiverExceptionFilter } from '../receiver/receiver-exception.filter';
import { EmbeddingQueryDto, StoredEmbeddingDto } from '../receiver/receiver.dto';
import { ReceiverService } from '../receiver/receiver.service';
import { ChunkResponseDto } from './task.dto';
import { TaskExceptionFilter } from './task-exception.filter';
import { TaskService } from './task.service';

@ApiTags('chunks')
@Controller('chunks')
@UseFilters(TaskExceptionFilter)
export class ChunkController {
  constructor(
    private readonly service: TaskService,
    private readonly vectors: ReceiverService,
  ) {}

  @Get(':id')
  @ApiOperation({ summary: 'A chunk with its status in each task it belongs to' })
  @ApiOkResponse({ type: ChunkResponseDto })
  @ApiErrors(400, 404)
  get(@IdParam() id: number): Promise<ChunkResponseDto> {
    return this.service.getChunk(id);
  }

  /** Read from the built-in receiver's store, which holds the vectors. */
  @Get(':id/embedding')
  @UseFilters(ReceiverExceptionFilter)
  @ApiOperation({ summary: "A chunk's stored vector" })
  @ApiOkResponse({ type: StoredEmbeddingDto })
  @ApiErrors(400, 404)
  embedding(@IdParam() id: number, @Query() query: EmbeddingQueryDto): Promise<StoredEmbeddingDto> {
    return this.vectors.find(id, query.model);
  }
}
