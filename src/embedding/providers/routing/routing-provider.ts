import { unknownModel } from '../../embedding.errors';
import {
  EmbeddingProvider,
  EmbeddingReadiness,
  EmbedInput,
  EmbedOptions,
  EmbedResult,
  ModelInfo,
  ModelReadiness,
  TextToken,
  TokenIds,
  TokenizeOptions,
} from '../embedding-provider';

/** One back end and the models it serves here. */
export interface ModelRoute {
  provider: EmbeddingProvider;
  /**
   * A models-file entry: the provider serves one model, served here under this name whatever the back end calls it
   * (a TEI server's model_id, the remote's model name).
   */
  servedAs?: string;
  /** EMBEDDING_MODELS: the provider's own names, configured (known before they are loaded). */
  configured?: string[];
}

/**
 * Several back ends behind the one EmbeddingProvider token: each model goes to the provider that serves it (local
 * ONNX on CPU or CUDA, TEI, an OpenAI-compatible API), so one instance serves models from several back ends at once.
 * Start-up loads every back end at once and fails if any fails; readiness lists every model of every back end.
 */
export class RoutingEmbeddingProvider extends EmbeddingProvider {
  constructor(private readonly routes: ModelRoute[]) {
    super();
  }

  async init(): Promise<void> {
    const results = await Promise.allSettled(this.routes.map((route) => route.provider.init()));
    const failure = results.find((result) => result.status === 'rejected');
    if (!failure) return;
    await this.close();
    throw failure.reason;
  }

  async close(): Promise<void> {
    await Promise.all(this.routes.map((route) => route.provider.close()));
  }

  async embed(model: string, texts: string[], options?: EmbedOptions): Promise<EmbedResult> {
    const { route, target } = this.find(model);
    return route.provider.embed(target, texts, options);
  }

  async countTokens(model: string, texts: string[], options?: EmbedOptions): Promise<number[] | null> {
    const { route, target } = this.find(model);
    return route.provider.countTokens(target, texts, options);
  }

  // The optional capabilities go to the model's back end, which has them or refuses.

  async embedInputs(model: string, inputs: EmbedInput[], options?: EmbedOptions): Promise<EmbedResult> {
    const { route, target } = this.find(model);
    return route.provider.embedInputs(target, inputs, options);
  }

  async embedTokens(model: string, inputs: EmbedInput[], options?: EmbedOptions): Promise<EmbedResult<Float32Array[]>> {
    const { route, target } = this.find(model);
    return route.provider.embedTokens(target, inputs, options);
  }

  async tokenize(model: string, texts: string[], options?: TokenizeOptions): Promise<TextToken[][]> {
    const { route, target } = this.find(model);
    return route.provider.tokenize(target, texts, options);
  }

  async decode(model: string, ids: TokenIds[], skipSpecialTokens: boolean): Promise<string[]> {
    const { route, target } = this.find(model);
    return route.provider.decode(target, ids, skipSpecialTokens);
  }

  /** The back end serving `model` (for diagnostics and tests: a TEI window, a rate budget). */
  backend(model: string): EmbeddingProvider {
    return this.find(model).route.provider;
  }

  describe(model: string): ModelInfo {
    const { route, target } = this.find(model);
    return { ...route.provider.describe(target), id: model };
  }

  models(): ModelInfo[] {
    return this.routes.flatMap((route) =>
      route.provider.models().map((info) => ({ ...info, id: route.servedAs ?? info.id })),
    );
  }

  async readiness(signal?: AbortSignal): Promise<EmbeddingReadiness> {
    const answers = await Promise.all(this.routes.map((route) => route.provider.readiness(signal)));
    const models = answers.flatMap((answer, index) => answer.models.map((model) => this.named(model, index)));
    return { ready: answers.every((answer) => answer.ready), models };
  }

  private named(model: ModelReadiness, route: number): ModelReadiness {
    const servedAs = this.routes[route].servedAs;
    return servedAs ? { ...model, id: servedAs } : model;
  }

  /** The route serving `model`, and the provider's name for it. */
  private find(model: string): { route: ModelRoute; target: string } {
    for (const route of this.routes) {
      if (route.servedAs !== undefined) {
        if (route.servedAs === model) return { route, target: route.provider.models()[0]?.id ?? model };
      } else if (route.configured?.includes(model) || route.provider.models().some((info) => info.id === model)) {
        return { route, target: model };
      }
    }
    throw unknownModel(model, this.servedIds());
  }

  private servedIds(): string[] {
    const ids = this.routes.flatMap((route) =>
      route.servedAs ? [route.servedAs] : [...(route.configured ?? []), ...route.provider.models().map((m) => m.id)],
    );
    return [...new Set(ids)];
  }
}
