import { Injectable } from '@nestjs/common';
import { encodeFloat32Base64 } from '../../../common/float32-base64';
import { EmbeddingService } from '../../embedding.service';
import {
  EncodingFormat,
  OpenAiEmbeddingRequestDto,
  OpenAiEmbeddingResponseDto,
  OpenAiModelListDto,
} from './openai.dto';

/** OpenAI's embeddings and models APIs over EmbeddingService: their request and response shapes, nothing more. */
@Injectable()
export class OpenAiService {
  private readonly startedAt = Math.floor(Date.now() / 1000);

  constructor(private readonly embeddings: EmbeddingService) {}

  /** The configured models (what a SENDER_MODE=remote sender claims tasks for); empty on an API-only instance. */
  models(): OpenAiModelListDto {
    const data = this.embeddings
      .servedModels()
      .map((id) => ({ id, object: 'model' as const, created: this.startedAt, owned_by: 'embedding-tasks' }));
    return { object: 'list', data };
  }

  async create(dto: OpenAiEmbeddingRequestDto): Promise<OpenAiEmbeddingResponseDto> {
    const single = typeof dto.input === 'string';
    const { model, vectors, promptTokens } = await this.embeddings.embed({
      model: dto.model,
      texts: single ? [dto.input as string] : (dto.input as string[]),
      options: { dimensions: dto.dimensions },
      field: 'input',
      label: (index) => (single ? 'input' : `input[${index}]`),
    });
    const format = dto.encoding_format ?? 'float';
    return {
      object: 'list',
      data: vectors.map((vector, index) => ({ object: 'embedding', index, embedding: encode(vector, format) })),
      model,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    };
  }
}

/** base64 holds the float32 values as little-endian bytes, which is what the OpenAI SDKs decode. */
function encode(vector: Float32Array, format: EncodingFormat): number[] | string {
  return format === 'float' ? Array.from(vector) : encodeFloat32Base64(vector);
}
