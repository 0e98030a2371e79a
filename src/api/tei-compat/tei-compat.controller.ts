import { applyDecorators, Body, Controller, HttpCode, Post, UseFilters, UseInterceptors } from '@nestjs/common';
import { Admission, AnswerInterceptor } from '../answer.interceptor';
import { AnswerAdmission } from '../answer-admission';
import { ApiBody, ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { ApiTeiErrors } from '../embedding-api-docs';
import { TEI_BODY_EXAMPLES } from '../embedding-api-examples';
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
@UseInterceptors(AnswerInterceptor)
export class TeiCompatController {
  constructor(private readonly service: TeiCompatService) {}

  @Post('embed')
  @HttpCode(200)
  @ApiOperation({ summary: 'TEI-compatible embeddings: one vector per input' })
  @ApiBody({ type: TeiEmbedRequestDto, examples: TEI_BODY_EXAMPLES.embed })
  @ApiOkResponse({ schema: TEI_EMBED_RESPONSE_SCHEMA })
  @ApiTeiErrors(400, 404, 422, 424, 429, 503)
  embed(@TeiBody(TeiEmbedRequestDto) dto: unknown, @Admission() admission: AnswerAdmission): Promise<number[][]> {
    return this.service.embed(dto as TeiEmbedRequestDto, admission);
  }

  /**
   * TEI routes `/` (and SageMaker's `/invocations`) by the model's kind: `/embed` for an embedding model, or
   * `/similarity` when started for that task. Both are served here, told apart by the body: similarity's `inputs`
   * is an object. So Hugging Face's clients work given the base URL, whichever task they call.
   */
  @Post()
  @HttpCode(200)
  @ApiDefaultRoute('TEI-compatible default route: /embed, or /similarity when `inputs` is an object')
  root(@Body() body: unknown, @Admission() admission: AnswerAdmission): Promise<number[][] | number[]> {
    return this.embedOrCompare(body, admission);
  }

  @Post('invocations')
  @HttpCode(200)
  @ApiDefaultRoute("The same as POST /, at SageMaker's path")
  invocations(@Body() body: unknown, @Admission() admission: AnswerAdmission): Promise<number[][] | number[]> {
    return this.embedOrCompare(body, admission);
  }

  @Post('embed_all')
  @HttpCode(200)
  @ApiOperation({ summary: "TEI-compatible token-level vectors: the model's hidden states before pooling" })
  @ApiBody({ type: TeiInputsRequestDto, examples: TEI_BODY_EXAMPLES.embedAll })
  @ApiOkResponse({ schema: TEI_EMBED_ALL_RESPONSE_SCHEMA })
  @ApiTeiErrors(400, 404, 422, 424, 429, 503)
  embedAll(@TeiBody(TeiInputsRequestDto) dto: unknown, @Admission() admission: AnswerAdmission): Promise<number[][][]> {
    return this.service.embedAll(dto as TeiInputsRequestDto, admission);
  }

  @Post('embed_sparse')
  @HttpCode(200)
  @ApiOperation({ summary: 'TEI-compatible sparse vectors: 424 here, as in TEI for a model without a SPLADE head' })
  @ApiBody({ type: TeiInputsRequestDto, examples: TEI_BODY_EXAMPLES.sparse })
  @ApiTeiErrors(400, 404, 422, 424, 503)
  embedSparse(@TeiBody(TeiInputsRequestDto) dto: unknown): never {
    return this.service.embedSparse(dto as TeiInputsRequestDto);
  }

  @Post('similarity')
  @HttpCode(200)
  @ApiOperation({ summary: 'TEI-compatible sentence similarity: the cosine of the source sentence to each sentence' })
  @ApiBody({ type: TeiSimilarityRequestDto, examples: TEI_BODY_EXAMPLES.similarity })
  @ApiOkResponse({ schema: TEI_SIMILARITY_RESPONSE_SCHEMA })
  @ApiTeiErrors(400, 404, 422, 424, 429, 503)
  similarity(
    @TeiBody(TeiSimilarityRequestDto) dto: unknown,
    @Admission() admission: AnswerAdmission,
  ): Promise<number[]> {
    return this.service.similarity(dto as TeiSimilarityRequestDto, admission);
  }

  private async embedOrCompare(body: unknown, admission: AnswerAdmission): Promise<number[][] | number[]> {
    const inputs = (body as { inputs?: unknown } | undefined)?.inputs;
    if (typeof inputs === 'object' && inputs !== null && !Array.isArray(inputs)) {
      return this.service.similarity(await parseTeiBody(body, TeiSimilarityRequestDto), admission);
    }
    return this.service.embed(await parseTeiBody(body, TeiEmbedRequestDto), admission);
  }
}

/** The documentation of `POST /` and `POST /invocations`: an embed or a similarity body. */
function ApiDefaultRoute(summary: string) {
  const bodies = [TeiEmbedRequestDto, TeiSimilarityRequestDto];
  return applyDecorators(
    ApiExtraModels(...bodies),
    ApiOperation({ summary }),
    ApiBody({
      schema: { oneOf: bodies.map((type) => ({ $ref: getSchemaPath(type) })) },
      examples: TEI_BODY_EXAMPLES.root,
    }),
    ApiOkResponse({ schema: { oneOf: [TEI_EMBED_RESPONSE_SCHEMA, TEI_SIMILARITY_RESPONSE_SCHEMA] } }),
    ApiTeiErrors(400, 404, 422, 424, 429, 503),
  );
}
