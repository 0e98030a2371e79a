import { Body, Controller, HttpCode, Post, UseFilters } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiEmbeddingErrors } from './embedding-api-docs';
import { EmbeddingExceptionFilter } from './embedding-exception.filter';
import { BatchResponseDto, EmbedBatchDto, EmbeddingResponseDto, EmbedSingleDto } from './embedding.dto';
import { EmbeddingService } from './embedding.service';

@ApiTags('embeddings')
@Controller('embeddings')
@UseFilters(EmbeddingExceptionFilter)
export class EmbeddingController {
  constructor(private readonly service: EmbeddingService) {}

  @Post('single')
  @HttpCode(200)
  @ApiOperation({ summary: 'Embed one text' })
  @ApiOkResponse({ type: EmbeddingResponseDto })
  @ApiEmbeddingErrors(400, 404, 413, 503)
  single(@Body() dto: EmbedSingleDto): Promise<EmbeddingResponseDto> {
    return this.service.embedSingle(dto);
  }

  @Post('batch')
  @HttpCode(200)
  @ApiOperation({ summary: 'Embed a list of chunks in one call; answers per chunk, in request order' })
  @ApiOkResponse({ type: BatchResponseDto })
  @ApiEmbeddingErrors(400, 404, 413, 503)
  batch(@Body() dto: EmbedBatchDto): Promise<BatchResponseDto> {
    return this.service.embedBatch(dto);
  }
}
