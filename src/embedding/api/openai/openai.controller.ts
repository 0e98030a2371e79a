import { Body, Controller, Get, HttpCode, Post, UseFilters } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiOpenAiErrors } from '../embedding-api-docs';
import { OpenAiExceptionFilter } from './openai-exception.filter';
import { OpenAiEmbeddingRequestDto, OpenAiEmbeddingResponseDto, OpenAiModelListDto } from './openai.dto';
import { OpenAiService } from './openai.service';

@ApiTags('openai')
@Controller('v1')
@UseFilters(OpenAiExceptionFilter)
export class OpenAiController {
  constructor(private readonly service: OpenAiService) {}

  @Post('embeddings')
  @HttpCode(200)
  @ApiOperation({ summary: "OpenAI-compatible embeddings: works with OpenAI's SDKs pointed at <host>/v1" })
  @ApiOkResponse({ type: OpenAiEmbeddingResponseDto })
  @ApiOpenAiErrors(400, 404, 413, 500, 503)
  create(@Body() dto: OpenAiEmbeddingRequestDto): Promise<OpenAiEmbeddingResponseDto> {
    return this.service.create(dto);
  }

  @Get('models')
  @ApiOperation({ summary: 'OpenAI-compatible list of the models this instance serves' })
  @ApiOkResponse({ type: OpenAiModelListDto })
  @ApiOpenAiErrors()
  models(): OpenAiModelListDto {
    return this.service.models();
  }
}
