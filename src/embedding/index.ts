export * from './embedding-provider';
export * from './embedding.errors';
export type { EmbeddingModelSource } from './model-source';
export type { HubCacheOptions } from './hub-model-cache';
export { OnnxEmbeddingProvider } from './onnx-embedding-provider';
export type { OnnxEmbeddingProviderOptions } from './onnx-embedding-provider';
