import { Body, Controller, Get, HttpCode, Post, Query, UseFilters } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../../../auth/public.decorator';
import { ApiTeiErrors } from '../embedding-api-docs';
import { TeiCompatExceptionFilter } from './tei-compat-exception.filter';
import { TEI_EMBED_RESPONSE_SCHEMA, TeiEmbedRequestDto, TeiInfoDto, TeiInfoQueryDto } from './tei-compat.dto';
import { TeiCompatService } from './tei-compat.service';

/** Hugging Face Text Embeddings Inference's embedding API, for clients written against TEI. */
@ApiTags('tei')
@Controller()
@UseFilters(TeiCompatExceptionFilter)
export class TeiCompatController {
  constructor(private readonly service: TeiCompatService) {}

  @Post('embed')
  @HttpCode(200)
  @ApiOperation({ summary: 'TEI-compatible embeddings: one vector per input' })
  @ApiOkResponse({ schema: TEI_EMBED_RESPONSE_SCHEMA })
  @ApiTeiErrors(400, 404, 413, 422, 424, 503)
  embed(@Body() dto: TeiEmbedRequestDto): Promise<number[][]> {
    return this.service.embed(dto);
  }

  @Get('info')
  @ApiOperation({ summary: 'TEI-compatible description of a served model and the limits' })
  @ApiOkResponse({ type: TeiInfoDto })
  @ApiTeiErrors(404, 422, 503)
  info(@Query() query: TeiInfoQueryDto): TeiInfoDto {
    return this.service.info(query.model);
  }

  /** TEI's own health route (open, like TEI's), so TEI clients, this service's TEI provider included, can probe it. */
  @Get('health')
  @Public()
  @ApiOperation({ summary: 'TEI-compatible health: 200 (empty) when the first served model is ready' })
  @ApiOkResponse({ description: 'Ready to embed' })
  @ApiTeiErrors(503)
  health(): void {
    this.service.health();
  }
}
