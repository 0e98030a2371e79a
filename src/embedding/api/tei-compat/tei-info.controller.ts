import { Controller, Get, Query, UseFilters } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../../../auth/public.decorator';
import { ApiTeiErrors } from '../embedding-api-docs';
import { TeiCompatExceptionFilter } from './tei-compat-exception.filter';
import { TeiInfoDto, TeiInfoQueryDto } from './tei-compat.dto';
import { TeiInfoService } from './tei-info.service';

/** TEI's model description and health routes. */
@ApiTags('tei')
@Controller()
@UseFilters(TeiCompatExceptionFilter)
export class TeiInfoController {
  constructor(private readonly service: TeiInfoService) {}

  @Get('info')
  @ApiOperation({ summary: 'TEI-compatible description of a served model and the limits' })
  @ApiOkResponse({ type: TeiInfoDto })
  @ApiTeiErrors(404, 422, 503)
  info(@Query() query: TeiInfoQueryDto): TeiInfoDto {
    return this.service.info(query.model);
  }

  /**
   * TEI's health route, open like TEI's, at its three paths: `/health`, `/` (Hugging Face Inference Endpoints) and
   * `/ping` (SageMaker). TEI clients, this service's TEI provider included, probe them.
   */
  @Get(['health', '', 'ping'])
  @Public()
  @ApiOperation({ summary: 'TEI-compatible health: 200 (empty) when the first served model is ready' })
  @ApiOkResponse({ description: 'Ready to embed' })
  @ApiTeiErrors(503)
  health(): void {
    this.service.health();
  }
}
