import { EmbeddingError, EmbeddingErrorCode, invalidInput } from '../../embedding.errors';

/**
 * A remote back end (TEI, an OpenAI-compatible API) cannot embed now, even after RemoteSender's retries, or is
 * misconfigured (401, 404): the sender puts the chunks back for a later attempt. `transient` tells a remote that may come back (start-up keeps waiting for it)
 * from one that needs its configuration fixed.
 */
export class RemoteUnavailableError extends EmbeddingError {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(EmbeddingErrorCode.BackendUnavailable, message);
  }
}

/** The remote refused a parameter of the request (`dimensions`, `model`…), not a text: the call fails as a whole. */
export function remoteRequestRefused(message: string, param?: string): EmbeddingError {
  const field = param === 'dimensions' ? 'dimensions' : 'model';
  return invalidInput(`the remote refused the request: ${message}`, field);
}
