import { Body, Controller, HttpCode, Post, UseFilters } from '@nestjs/common';
import { ApiBody, ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { ApiTeiErrors } from '../embedding-api-docs';
import { parseTeiBody, TeiBody } from './tei-body';
import { TeiCompatExceptionFilter } from './tei-compat-exception.filter';
import {
  TEI_EMBED_ALL_RESPONSE_SCHEMA,
  TEI_EMBED_RESPONSE_SCHEMA,
  TEI_SIMILARITY_RESPONSE_SCHEMA,
} from './tei-compat.dto';
import { TeiCompatService } from './tei-compat.service';
import { TeiEmbedRequestDto, TeiInputsRequestDto, TeiSimilarityRequestDto } from './tei-requests.dto';

/** Hugging Face Text Embeddings Inference's embedding routes, for clients written against TEI. */
@ApiTags('tei')
@Controller()
@UseFilters(TeiCompatExceptionFilter)
export class TeiCompatController {
  constructor(private readonly service: TeiCompatService) {}

  @Post('embed')
  @HttpCode(200)
  @ApiOperation({ summary: 'TEI-compatible embeddings: one vector per input' })
  @ApiBody({ type: TeiEmbedRequestDto })
  @ApiOkResponse({ schema: TEI_EMBED_RESPONSE_SCHEMA })
  @ApiTeiErrors(400, 404, 422, 424, 503)
  embed(@TeiBody(TeiEmbedRequestDto) dto: unknown): Promise<number[][]> {
    return this.service.embed(dto as TeiEmbedRequestDto);
  }

  /**
   * TEI routes `/` (and SageMaker's `/invocations`) by the model's kind: `/embed` for an embedding model, or
   * `/similarity` when started for that task. Both are served here, told apart by the body: similarity's `inputs`
   * is an object. So Hugging Face's clients work given the base URL, whichever task they call.
   */
  @Post(['', 'invocations'])
  @HttpCode(200)
  @ApiExtraModels(TeiEmbedRequestDto, TeiSimilarityRequestDto)
  @ApiOperation({ summary: 'TEI-compatible default route: /embed, or /similarity when `inputs` is an object' })
  @ApiBody({
    schema: { oneOf: [TeiEmbedRequestDto, TeiSimilarityRequestDto].map((type) => ({ $ref: getSchemaPath(type) })) },
  })
  @ApiOkResponse({ schema: { oneOf: [TEI_EMBED_RESPONSE_SCHEMA, TEI_SIMILARITY_RESPONSE_SCHEMA] } })
  @ApiTeiErrors(400, 404, 422, 424, 503)
  async root(@Body() body: unknown): Promise<number[][] | number[]> {
    const inputs = (body as { inputs?: unknown } | undefined)?.inputs;
    if (typeof inputs === 'object' && inputs !== null && !Array.isArray(inputs)) {
      return this.service.similarity(await parseTeiBody(body, TeiSimilarityRequestDto));
    }
    return this.service.embed(await parseTeiBody(body, TeiEmbedRequestDto));
  }

  @Post('embed_all')
  @HttpCode(200)
  @ApiOperation({ summary: "TEI-compatible token-level vectors: the model's hidden states before pooling" })
  @ApiBody({ type: TeiInputsRequestDto })
  @ApiOkResponse({ schema: TEI_EMBED_ALL_RESPONSE_SCHEMA })
  @ApiTeiErrors(400, 404, 422, 424, 503)
  embedAll(@TeiBody(TeiInputsRequestDto) dto: unknown): Promise<number[][][]> {
    return this.service.embedAll(dto as TeiInputsRequestDto);
  }

  @Post('embed_sparse')
  @HttpCode(200)
  @ApiOperation({ summary: 'TEI-compatible sparse vectors: 424 here, as in TEI for a model without a SPLADE head' })
  @ApiBody({ type: TeiInputsRequestDto })
  @ApiTeiErrors(400, 404, 422, 424, 503)
  embedSparse(@TeiBody(TeiInputsRequestDto) dto: unknown): never {
    return this.service.embedSparse(dto as TeiInputsRequestDto);
  }

  @Post('similarity')
  @HttpCode(200)
  @ApiOperation({ summary: 'TEI-compatible sentence similarity: the cosine of the source sentence to each sentence' })
  @ApiBody({ type: TeiSimilarityRequestDto })
  @ApiOkResponse({ schema: TEI_SIMILARITY_RESPONSE_SCHEMA })
  @ApiTeiErrors(400, 404, 422, 424, 503)
  similarity(@TeiBody(TeiSimilarityRequestDto) dto: unknown): Promise<number[]> {
    return this.service.similarity(dto as TeiSimilarityRequestDto);
  }
}
