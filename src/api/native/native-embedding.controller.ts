import { Body, Controller, HttpCode, Post, UseFilters, UseInterceptors } from '@nestjs/common';
import { Admission, AnswerInterceptor } from '../answer.interceptor';
import { AnswerAdmission } from '../answer-admission';
import { ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { NATIVE_BODY_EXAMPLES } from '../embedding-api-examples';
import { ApiEmbeddingErrors } from '../embedding-api-docs';
import { BatchResponseDto, EmbedBatchDto, EmbeddingResponseDto, EmbedSingleDto } from './native-embedding.dto';
import { NativeEmbeddingService } from './native-embedding.service';
import { NativeExceptionFilter } from './native-exception.filter';

@ApiTags('embeddings')
@Controller('embeddings')
@UseFilters(NativeExceptionFilter)
@UseInterceptors(AnswerInterceptor)
export class NativeEmbeddingController {
  constructor(private readonly service: NativeEmbeddingService) {}

  @Post('single')
  @HttpCode(200)
  @ApiOperation({ summary: 'Embed one text' })
  @ApiBody({ type: EmbedSingleDto, examples: NATIVE_BODY_EXAMPLES.single })
  @ApiOkResponse({ type: EmbeddingResponseDto })
  @ApiEmbeddingErrors(400, 404, 413, 503)
  single(@Body() dto: EmbedSingleDto, @Admission() admission: AnswerAdmission): Promise<EmbeddingResponseDto> {
    return this.service.embedSingle(dto, admission);
  }

  @Post('batch')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Embed a list of chunks in one call; answers per chunk, in request order',
    description:
      "With `deliver: true` (and `task_id`) the vectors go to this instance's receiver instead of the answer, and " +
      'each chunk is answered `delivered` or `failed` (what a SENDER_MODE=remote sender calls). A delivery that may ' +
      'succeed later answers 503 for the whole request; repeating it stores each vector once.',
  })
  @ApiBody({ type: EmbedBatchDto, examples: NATIVE_BODY_EXAMPLES.batch })
  @ApiOkResponse({ type: BatchResponseDto })
  @ApiEmbeddingErrors(400, 404, 413, 503)
  batch(@Body() dto: EmbedBatchDto, @Admission() admission: AnswerAdmission): Promise<BatchResponseDto> {
    return dto.deliver ? this.service.embedAndDeliver(dto) : this.service.embedBatch(dto, admission);
  }
}
