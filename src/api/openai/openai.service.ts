import { Injectable } from '@nestjs/common';
import { vectorsAsArrays } from '../../common/vectors-as-arrays';
import { encodeFloat32Base64 } from '../../common/float32-base64';
import { unknownModel } from '../../embedding/embedding.errors';
import { EmbeddingService } from '../../embedding/embedding.service';
import { toInputs } from '../embedding-fields';
import { AnswerAdmission } from '../answer-admission';
import { BASE64_NUMBER_BYTES, JSON_NUMBER_BYTES, vectorsAnswerBytes } from '../answer-size';
import {
  OpenAiEmbeddingRequestDto,
  OpenAiEmbeddingResponseDto,
  OpenAiModelDto,
  OpenAiModelListDto,
} from './openai.dto';

/** OpenAI's embeddings and models APIs over EmbeddingService: their request and response shapes, nothing more. */
@Injectable()
export class OpenAiService {
  private readonly startedAt = Math.floor(Date.now() / 1000);

  constructor(private readonly embeddings: EmbeddingService) {}

  /** The configured models (what a SENDER_MODE=remote sender claims tasks for); empty on an API-only instance. */
  models(): OpenAiModelListDto {
    return { object: 'list', data: this.embeddings.servedModels().map((id) => this.modelObject(id)) };
  }

  /** A served model (loaded or not), else UnknownModel (404 model_not_found). */
  model(id: string): OpenAiModelDto {
    const served = this.embeddings.servedModels();
    if (!served.includes(id)) throw unknownModel(id, served);
    return this.modelObject(id);
  }

  async create(dto: OpenAiEmbeddingRequestDto, admission: AnswerAdmission): Promise<OpenAiEmbeddingResponseDto> {
    const { inputs, single } = toInputs(dto.input);
    const format = dto.encoding_format ?? 'float';
    const numberBytes = format === 'float' ? JSON_NUMBER_BYTES : BASE64_NUMBER_BYTES;
    const { model, vectors, promptTokens } = await this.embeddings.embed({
      model: dto.model,
      texts: inputs,
      options: { dimensions: dto.dimensions },
      field: 'input',
      label: (index) => (single ? 'input' : `input[${index}]`),
      admit: (model) =>
        admission.admit(vectorsAnswerBytes(inputs.length, dto.dimensions ?? model.dimensions, numberBytes)),
    });
    // base64 holds the float32 values as little-endian bytes, which is what the OpenAI SDKs decode.
    const embeddings =
      format === 'float' ? await vectorsAsArrays(vectors) : vectors.map((vector) => encodeFloat32Base64(vector));
    return {
      object: 'list',
      data: embeddings.map((embedding, index) => ({ object: 'embedding', index, embedding })),
      model,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    };
  }

  private modelObject(id: string): OpenAiModelDto {
    return { id, object: 'model', created: this.startedAt, owned_by: 'embedding-tasks' };
  }
}
