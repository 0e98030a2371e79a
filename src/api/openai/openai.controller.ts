import { Body, Controller, Get, HttpCode, Param, Post, UseFilters, UseInterceptors } from '@nestjs/common';
import { Admission, AnswerInterceptor } from '../answer.interceptor';
import { AnswerAdmission } from '../answer-admission';
import { ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { OPENAI_BODY_EXAMPLES } from '../embedding-api-examples';
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
@UseInterceptors(AnswerInterceptor)
export class OpenAiController {
  constructor(private readonly service: OpenAiService) {}

  @Post('v1/embeddings')
  @HttpCode(200)
  @ApiOperation({ summary: "OpenAI-compatible embeddings: works with OpenAI's SDKs pointed at <host>/v1" })
  @ApiBody({ type: OpenAiEmbeddingRequestDto, examples: OPENAI_BODY_EXAMPLES })
  @ApiOkResponse({ type: OpenAiEmbeddingResponseDto })
  @ApiOpenAiErrors(400, 404, 413, 500, 503)
  create(
    @Body() dto: OpenAiEmbeddingRequestDto,
    @Admission() admission: AnswerAdmission,
  ): Promise<OpenAiEmbeddingResponseDto> {
    return this.service.create(dto, admission);
  }

  /** TEI's alias of its OpenAI route, for clients given the bare base URL; a handler of its own for its operation id. */
  @Post('embeddings')
  @HttpCode(200)
  @ApiOperation({ summary: 'The same as POST /v1/embeddings, where TEI serves it too' })
  @ApiBody({ type: OpenAiEmbeddingRequestDto, examples: OPENAI_BODY_EXAMPLES })
  @ApiOkResponse({ type: OpenAiEmbeddingResponseDto })
  @ApiOpenAiErrors(400, 404, 413, 500, 503)
  createAtRoot(
    @Body() dto: OpenAiEmbeddingRequestDto,
    @Admission() admission: AnswerAdmission,
  ): Promise<OpenAiEmbeddingResponseDto> {
    return this.service.create(dto, admission);
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
