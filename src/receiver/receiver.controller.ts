import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiTags, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-errors.decorator';
import { ParseIdPipe } from '../common/id.pipe';
import { EmbeddingQueryDto, RECEIVER_BODY_EXAMPLES, ReceiverAckDto, ReceiverBatchDto, ReceiverRejectionDto, StoredEmbeddingDto } from './receiver.dto';
import { ReceiverService } from './receiver.service';

// Tags per route: the stored vector is read under chunks, where a reader looks for it.
@Controller()
export class ReceiverController {
  constructor(private readonly service: ReceiverService) {}

  @Post('receiver/embeddings')
  @HttpCode(200)
  @ApiTags('receiver')
  @ApiOperation({
    summary: 'Store vectors (the receiver contract): 2xx means stored; the same batch twice stores it once',
  })
  @ApiBody({ type: ReceiverBatchDto, examples: RECEIVER_BODY_EXAMPLES })
  // Storage is an upsert per (chunk, model), so a repeated batch is harmless whatever its key says.
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'One per batch; repeats are harmless' })
  @ApiOkResponse({ type: ReceiverAckDto })
  @ApiUnprocessableEntityResponse({ type: ReceiverRejectionDto, description: 'Bad items, each named; nothing stored' })
  @ApiErrors(400, 413)
  store(@Body() batch: ReceiverBatchDto): Promise<ReceiverAckDto> {
    return this.service.store(batch);
  }

  @Get('chunks/:id/embedding')
  @ApiTags('chunks')
  @ApiOperation({ summary: "A chunk's stored vector" })
  @ApiOkResponse({ type: StoredEmbeddingDto })
  @ApiErrors(400, 404)
  find(@Param('id', ParseIdPipe) id: number, @Query() query: EmbeddingQueryDto): Promise<StoredEmbeddingDto> {
    return this.service.find(id, query.model);
  }
}
