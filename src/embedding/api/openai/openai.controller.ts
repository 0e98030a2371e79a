import { Body, Controller, Get, HttpCode, Param, Post, UseFilters } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiOpenAiErrors } from '../embedding-api-docs';
import { OpenAiExceptionFilter } from './openai-exception.filter';
import {
  OpenAiEmbeddingRequestDto,
  OpenAiEmbeddingResponseDto,
  OpenAiModelDto,
  OpenAiModelListDto,
} from './openai.dto';
import { OpenAiService } from './openai.service';

@ApiTags('openai')
@Controller()
@UseFilters(OpenAiExceptionFilter)
export class OpenAiController {
  constructor(private readonly service: OpenAiService) {}

  /** `/embeddings` too, as TEI serves it (an alias of its OpenAI route), for clients given the bare base URL. */
  @Post(['v1/embeddings', 'embeddings'])
  @HttpCode(200)
  @ApiOperation({ summary: "OpenAI-compatible embeddings: works with OpenAI's SDKs pointed at <host>/v1" })
  @ApiOkResponse({ type: OpenAiEmbeddingResponseDto })
  @ApiOpenAiErrors(400, 404, 413, 500, 503)
  create(@Body() dto: OpenAiEmbeddingRequestDto): Promise<OpenAiEmbeddingResponseDto> {
    return this.service.create(dto);
  }

  @Get('v1/models')
  @ApiOperation({ summary: 'OpenAI-compatible list of the models this instance serves' })
  @ApiOkResponse({ type: OpenAiModelListDto })
  @ApiOpenAiErrors()
  models(): OpenAiModelListDto {
    return this.service.models();
  }

  /** A wildcard, since model ids hold a slash (`owner/name`) that clients may or may not encode as %2F. */
  @Get('v1/models/*id')
  @ApiOperation({ summary: 'OpenAI-compatible model object of one served model (the SDKs’ models.retrieve)' })
  @ApiParam({ name: 'id', description: 'A served model id', example: 'sentence-transformers/all-MiniLM-L6-v2' })
  @ApiOkResponse({ type: OpenAiModelDto })
  @ApiOpenAiErrors(404)
  model(@Param('id') segments: string[]): OpenAiModelDto {
    return this.service.model(segments.join('/'));
  }
}
