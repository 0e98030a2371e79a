import { Body, Controller, Get, HttpCode, Post, UseFilters } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-errors.decorator';
import {
  BuildSearchIndexDto,
  SEARCH_BODY_EXAMPLES,
  SEARCH_INDEX_BODY_EXAMPLES,
  SearchIndexDto,
  SearchIndexListDto,
  SearchRequestDto,
  SearchResponseDto,
} from './search.dto';
import { SearchExceptionFilter } from './search-exception.filter';
import { SearchIndexService } from './search-index.service';
import { SearchService } from './search.service';

@ApiTags('search')
@Controller('search')
@UseFilters(SearchExceptionFilter)
export class SearchController {
  constructor(
    private readonly service: SearchService,
    private readonly indexes: SearchIndexService,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'The chunks whose stored vectors are nearest to a text or a vector (cosine), best first',
    description:
      "Exact on any PostgreSQL; through the model's pgvector HNSW index where searches use pgvector (`exact: false`). " +
      '404: unknown task, or no stored vectors of the model; 413: a query over EMBED_MAX_INPUT_CHARS; 503: the ' +
      'model cannot embed now, or the search ran past SEARCH_TIMEOUT_MS.',
  })
  @ApiBody({ type: SearchRequestDto, examples: SEARCH_BODY_EXAMPLES })
  @ApiOkResponse({ type: SearchResponseDto })
  @ApiErrors(400, 404, 413)
  search(@Body() dto: SearchRequestDto): Promise<SearchResponseDto> {
    return this.service.search(dto);
  }

  @Get('indexes')
  @ApiOperation({ summary: 'Each model with stored vectors and the state of its pgvector index' })
  @ApiOkResponse({ type: SearchIndexListDto })
  @ApiErrors()
  listIndexes(): Promise<SearchIndexListDto> {
    return this.indexes.list();
  }

  @Post('indexes')
  @HttpCode(202)
  @ApiOperation({
    summary: "Build a model's pgvector index now (CONCURRENTLY, in the background); GET /search/indexes follows it",
    description: '409 where searches do not use pgvector, or the model has more than 4,000 dimensions.',
  })
  @ApiBody({ type: BuildSearchIndexDto, examples: SEARCH_INDEX_BODY_EXAMPLES })
  @ApiAcceptedResponse({ type: SearchIndexDto })
  @ApiErrors(400, 404, 409)
  buildIndex(@Body() dto: BuildSearchIndexDto): Promise<SearchIndexDto> {
    return this.indexes.build(dto.model);
  }
}
