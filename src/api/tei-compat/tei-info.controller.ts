import { applyDecorators, Controller, Get, Query, UseFilters } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../../auth/public.decorator';
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

  /** TEI's health route, open like TEI's; TEI clients, this service's TEI provider included, probe it. */
  @Get('health')
  @Public()
  @ApiHealth('TEI-compatible health: 200 (empty) when the first served model is ready')
  health(): void {
    this.service.health();
  }

  /** The same, where Hugging Face Inference Endpoints probe TEI. */
  @Get()
  @Public()
  @ApiHealth('TEI-compatible health at the root, as Inference Endpoints probe it')
  root(): void {
    this.service.health();
  }

  /** The same, where SageMaker probes TEI. */
  @Get('ping')
  @Public()
  @ApiHealth('TEI-compatible health at SageMaker’s path')
  ping(): void {
    this.service.health();
  }
}

function ApiHealth(summary: string) {
  return applyDecorators(
    ApiOperation({ summary }),
    ApiOkResponse({ description: 'Ready to embed' }),
    ApiTeiErrors(503),
  );
}
