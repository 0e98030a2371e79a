import { Controller, HttpCode, Post, UseFilters, UseInterceptors } from '@nestjs/common';
import { Admission, AnswerInterceptor } from '../answer.interceptor';
import { AnswerAdmission } from '../answer-admission';
import { ApiBody, ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiTeiErrors } from '../embedding-api-docs';
import { TEI_BODY_EXAMPLES } from '../embedding-api-examples';
import { TeiBody } from './tei-body';
import { TeiCompatExceptionFilter } from './tei-compat-exception.filter';
import { TEI_DECODE_RESPONSE_SCHEMA, TEI_TOKENIZE_RESPONSE_SCHEMA, TeiTokenDto } from './tei-compat.dto';
import { TeiCompatService } from './tei-compat.service';
import { TeiDecodeRequestDto, TeiTokenizeRequestDto } from './tei-requests.dto';

/** TEI's tokenizer routes: what the model reads, and ids back to text. */
@ApiTags('tei')
@Controller()
@UseFilters(TeiCompatExceptionFilter)
@UseInterceptors(AnswerInterceptor)
@ApiExtraModels(TeiTokenDto)
export class TeiTokensController {
  constructor(private readonly service: TeiCompatService) {}

  @Post('tokenize')
  @HttpCode(200)
  @ApiOperation({ summary: "TEI-compatible tokenizing: each input's tokens, with their text and byte offsets" })
  @ApiBody({ type: TeiTokenizeRequestDto, examples: TEI_BODY_EXAMPLES.tokenize })
  @ApiOkResponse({ schema: TEI_TOKENIZE_RESPONSE_SCHEMA })
  @ApiTeiErrors(400, 404, 422, 424, 429, 503)
  tokenize(
    @TeiBody(TeiTokenizeRequestDto) dto: unknown,
    @Admission() admission: AnswerAdmission,
  ): Promise<TeiTokenDto[][]> {
    return this.service.tokenize(dto as TeiTokenizeRequestDto, admission);
  }

  @Post('decode')
  @HttpCode(200)
  @ApiOperation({ summary: 'TEI-compatible decoding: token ids back to text' })
  @ApiBody({ type: TeiDecodeRequestDto, examples: TEI_BODY_EXAMPLES.decode })
  @ApiOkResponse({ schema: TEI_DECODE_RESPONSE_SCHEMA })
  @ApiTeiErrors(400, 404, 422, 424, 429, 503)
  decode(@TeiBody(TeiDecodeRequestDto) dto: unknown, @Admission() admission: AnswerAdmission): Promise<string[]> {
    return this.service.decode(dto as TeiDecodeRequestDto, admission);
  }
}
