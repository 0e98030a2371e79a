import { Body, Controller, HttpCode, Post, UseFilters } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiTags, ApiUnprocessableEntityResponse } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-errors.decorator';
import { ReceiverExceptionFilter } from './receiver-exception.filter';
import { RECEIVER_BODY_EXAMPLES, ReceiverAckDto, ReceiverBatchDto, ReceiverRejectionDto } from './receiver.dto';
import { ReceiverService } from './receiver.service';

@ApiTags('receiver')
@Controller('receiver')
@UseFilters(ReceiverExceptionFilter)
export class ReceiverController {
  constructor(private readonly service: ReceiverService) {}

  @Post('embeddings')
  @HttpCode(200)
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
}
