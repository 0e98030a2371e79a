export * from './providers/embedding-provider';
export * from './embedding.errors';
export type { EmbeddingModelSource } from './providers/onnx/model-files/model-source';
export type { HubCacheOptions } from './providers/onnx/model-files/hub-model-cache';
export { OnnxEmbeddingProvider } from './providers/onnx/onnx-embedding-provider';
export type { OnnxEmbeddingProviderOptions } from './providers/onnx/onnx-embedding-provider';
