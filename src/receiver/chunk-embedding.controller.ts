import { Controller, Get, Query, UseFilters } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-errors.decorator';
import { IdParam } from '../common/id.pipe';
import { ReceiverExceptionFilter } from './receiver-exception.filter';
import { EmbeddingQueryDto, StoredEmbeddingDto } from './receiver.dto';
import { ReceiverService } from './receiver.service';

/**
 * A chunk's stored vector, under the chunk's path but served here: the built-in receiver's store holds the vectors,
 * and the task feature (below this one) cannot reach it.
 */
@ApiTags('chunks')
@Controller('chunks')
@UseFilters(ReceiverExceptionFilter)
export class ChunkEmbeddingController {
  constructor(private readonly vectors: ReceiverService) {}

  @Get(':id/embedding')
  @ApiOperation({ summary: "A chunk's stored vector" })
  @ApiOkResponse({ type: StoredEmbeddingDto })
  @ApiErrors(400, 404)
  embedding(@IdParam() id: number, @Query() query: EmbeddingQueryDto): Promise<StoredEmbeddingDto> {
    return this.vectors.find(id, query.model);
  }
}
