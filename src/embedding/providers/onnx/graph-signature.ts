import { EmbeddingError, EmbeddingErrorCode } from '../../embedding.errors';
import { RunnableSession } from './session-thread';

/** How to feed a graph and which output to read, decided once from the session's own metadata. */
export interface GraphSignature {
  outputName: string;
  /** The graph pools itself (a `sentence_embedding` output), so its vectors are used as they are. */
  pooledByGraph: boolean;
  /** The output with one vector per token (the hidden states before pooling), when the graph has one. */
  tokenOutputName?: string;
  feedsTokenTypes: boolean;
}

/** attention_mask is required: without it padding would leak into every vector of a batch. */
const REQUIRED_INPUTS = ['input_ids', 'attention_mask'];
const OPTIONAL_INPUTS = ['token_type_ids'];
const TOKEN_OUTPUTS = ['last_hidden_state', 'token_embeddings'];

export function inspectGraph(modelId: string, session: RunnableSession): GraphSignature {
  const missing = REQUIRED_INPUTS.filter((name) => !session.inputNames.includes(name));
  const unknown = session.inputNames.filter((name) => ![...REQUIRED_INPUTS, ...OPTIONAL_INPUTS].includes(name));
  if (missing.length > 0 || unknown.length > 0) {
    throw new EmbeddingError(
      EmbeddingErrorCode.UnsupportedModel,
      `Model "${modelId}" has graph inputs [${session.inputNames.join(', ')}]; ` +
        `expected ${REQUIRED_INPUTS.join(' and ')}, optionally ${OPTIONAL_INPUTS.join(', ')}`,
    );
  }
  const pooledByGraph = session.outputNames.includes('sentence_embedding');
  const outputName = pooledByGraph
    ? 'sentence_embedding'
    : (TOKEN_OUTPUTS.find((name) => session.outputNames.includes(name)) ?? session.outputNames[0]);
  assertFloatOutput(modelId, session, outputName);
  // A graph that pools itself may also expose its token vectors; only float ones are read.
  const tokenOutputName = pooledByGraph
    ? TOKEN_OUTPUTS.find((name) => session.outputNames.includes(name) && isFloat(session, name))
    : outputName;
  const feedsTokenTypes = session.inputNames.includes('token_type_ids');
  return { outputName, pooledByGraph, tokenOutputName, feedsTokenTypes };
}

/** float16 outputs (an fp16 graph converted without keep_io_types) are widened when read (see outputFloats). */
const FLOAT_OUTPUTS = ['float32', 'float16'];

function isFloat(session: RunnableSession, outputName: string): boolean {
  const metadata = session.outputMetadata.find((output) => output.name === outputName);
  return !metadata?.isTensor || FLOAT_OUTPUTS.includes(metadata.type);
}

function assertFloatOutput(modelId: string, session: RunnableSession, outputName: string): void {
  const metadata = session.outputMetadata.find((output) => output.name === outputName);
  if (metadata?.isTensor && !FLOAT_OUTPUTS.includes(metadata.type)) {
    throw new EmbeddingError(
      EmbeddingErrorCode.UnsupportedModel,
      `Model "${modelId}" output ${outputName} is ${metadata.type}; only float32 and float16 outputs are supported`,
    );
  }
}
