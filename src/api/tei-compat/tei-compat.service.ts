import { Injectable } from '@nestjs/common';
import { tokenVectorsAsArrays, vectorsAsArrays } from '../../common/vectors-as-arrays';
import { EmbeddingError, EmbeddingErrorCode } from '../../embedding/embedding.errors';
import { EmbedCall, EmbeddingService } from '../../embedding/embedding.service';
import { EmbedInput, EmbedOptions, ModelInfo } from '../../embedding/providers/embedding-model';
import { AnswerAdmission } from '../answer-admission';
import { decodedAnswerBytes, tokensAnswerBytes, tokenVectorsAnswerBytes, vectorsAnswerBytes } from '../answer-size';
import { toInputs } from '../embedding-fields';
import { AppConfig } from '../../config/app-config';
import {
  TeiEmbedRequestDto,
  TeiInputsRequestDto,
  TeiSimilarityRequestDto,
  TeiTokenizeRequestDto,
  TeiDecodeRequestDto,
} from './tei-requests.dto';
import { TeiTokenDto } from './tei-compat.dto';
import { cosine } from '../../common/cosine';

/**
 * Text Embeddings Inference's embedding routes over EmbeddingService, with TEI's defaults (router/src/http/server.rs
 * at v1.9.3): `truncate` from EMBED_AUTO_TRUNCATE, `normalize` true, one answer per input also for a single input.
 */
@Injectable()
export class TeiCompatService {
  constructor(
    private readonly embeddings: EmbeddingService,
    private readonly config: AppConfig,
  ) {}

  async embed(dto: TeiEmbedRequestDto, admission: AnswerAdmission): Promise<number[][]> {
    const options = { ...this.truncation(dto), normalize: dto.normalize ?? true, dimensions: dto.dimensions };
    const call = this.call(dto, options);
    const admit = (model: ModelInfo) =>
      admission.admit(vectorsAnswerBytes(call.texts.length, dto.dimensions ?? model.dimensions));
    const { vectors } = await this.embeddings.embed({ ...call, admit });
    return vectorsAsArrays(vectors);
  }

  async embedAll(dto: TeiInputsRequestDto, admission: AnswerAdmission): Promise<number[][][]> {
    const call = this.call(dto, this.truncation(dto));
    const admit = (model: ModelInfo) => admission.admit(tokenVectorsAnswerBytes(call.texts, model));
    const { vectors } = await this.embeddings.embedTokens({ ...call, admit });
    return tokenVectorsAsArrays(vectors);
  }

  /** No back end here serves a SPLADE model, so this answers TEI's own error for other models, after its checks. */
  embedSparse(dto: TeiInputsRequestDto): never {
    const model = this.embeddings.resolveModel(dto.model ?? undefined);
    const { inputs, single } = toInputs(dto.inputs);
    if (!single) this.embeddings.checkCount(inputs.length, 'inputs');
    throw new EmbeddingError(
      EmbeddingErrorCode.UnsupportedOperation,
      `Model is not an embedding model with SPLADE pooling ("${model.id}" pools with ${model.pooling})`,
    );
  }

  /** TEI embeds the source and the sentences unnormalised in one batch, then takes each cosine. */
  async similarity(dto: TeiSimilarityRequestDto, admission: AnswerAdmission): Promise<number[]> {
    const { source_sentence: source, sentences } = dto.inputs;
    if (sentences.length === 0) {
      const field = 'inputs.sentences';
      throw new EmbeddingError(EmbeddingErrorCode.EmptyInput, '`inputs.sentences` cannot be empty', { field });
    }
    const { vectors } = await this.embeddings.embed({
      model: dto.model ?? undefined,
      texts: [source, ...sentences],
      options: { ...this.truncation(dto.parameters ?? {}), normalize: false },
      field: 'inputs',
      label: (index) => (index === 0 ? 'inputs.source_sentence' : `inputs.sentences[${index - 1}]`),
      // The answer is a number per sentence, but each vector is held until its cosine is taken.
      admit: (model) => admission.admit(vectorsAnswerBytes(sentences.length + 1, model.dimensions)),
    });
    return vectors.slice(1).map((vector) => cosine(vectors[0], vector));
  }

  tokenize(dto: TeiTokenizeRequestDto, admission: AnswerAdmission): Promise<TeiTokenDto[][]> {
    const single = typeof dto.inputs === 'string';
    const texts = single ? [dto.inputs as string] : (dto.inputs as string[]);
    return this.embeddings.tokenize({
      model: dto.model ?? undefined,
      texts,
      options: { addSpecialTokens: dto.add_special_tokens ?? true, promptName: dto.prompt_name ?? undefined },
      field: 'inputs',
      label: (index) => (single ? 'inputs' : `inputs[${index}]`),
      admit: (model) => admission.admit(tokensAnswerBytes(texts, model)),
    });
  }

  decode(dto: TeiDecodeRequestDto, admission: AnswerAdmission): Promise<string[]> {
    const single = dto.ids.length === 0 || !Array.isArray(dto.ids[0]);
    const texts = single ? [dto.ids as number[]] : (dto.ids as number[][]);
    const call = {
      model: dto.model ?? undefined,
      texts,
      field: 'ids',
      label: (index: number) => (single ? 'ids' : `ids[${index}]`),
      admit: () => admission.admit(decodedAnswerBytes(texts)),
    };
    return this.embeddings.decode(call, dto.skip_special_tokens ?? true);
  }

  private call(dto: TeiInputsRequestDto, options: EmbedOptions): EmbedCall<EmbedInput> {
    const { inputs, single } = toInputs(dto.inputs);
    const label = (index: number) => (single ? 'inputs' : `inputs[${index}]`);
    return { model: dto.model ?? undefined, texts: inputs, options, field: 'inputs', label };
  }

  private truncation(dto: { truncate?: boolean | null; prompt_name?: string | null }): EmbedOptions {
    return { truncate: dto.truncate ?? this.config.embedding.autoTruncate, promptName: dto.prompt_name ?? undefined };
  }
}
