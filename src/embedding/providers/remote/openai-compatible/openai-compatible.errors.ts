import { EmbeddingError, EmbeddingErrorCode, invalidInput } from '../../../embedding.errors';

/**
 * The remote cannot embed now, even after this client's retries, or is misconfigured (401, 404): the sender puts the
 * chunks back for a later attempt. `transient` tells a remote that may come back (start-up keeps waiting for it)
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

/** The remote refused every text of a call for one reason: the request is at fault, not the texts. */
export function remoteRefusedEveryInput(reason: string): EmbeddingError {
  return invalidInput(`the remote refused every input: ${reason}`, 'texts');
}
