import { describeFetchError } from './network-error';

const fetchFailed = (cause: object) => Object.assign(new TypeError('fetch failed'), { cause });

describe('describeFetchError', () => {
  it.each([
    [
      { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND huggingface.co' },
      'DNS lookup failed (no such host, or no network) [ENOTFOUND]',
    ],
    [{ code: 'EAI_AGAIN' }, 'DNS lookup failed (no such host, or no network) [EAI_AGAIN]'],
    [{ code: 'ECONNREFUSED' }, 'connection refused [ECONNREFUSED]'],
    [{ code: 'UND_ERR_CONNECT_TIMEOUT' }, 'timed out [UND_ERR_CONNECT_TIMEOUT]'],
    [{ code: 'CERT_HAS_EXPIRED' }, 'TLS failed [CERT_HAS_EXPIRED]'],
    [{ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'TLS failed [UNABLE_TO_VERIFY_LEAF_SIGNATURE]'],
    [{ errors: [{ message: 'x' }, { code: 'ECONNREFUSED' }] }, 'connection refused [ECONNREFUSED]'],
    [{ name: 'TimeoutError', message: 'The operation was aborted due to timeout' }, 'timed out'],
    [{ message: 'other socket trouble' }, 'fetch failed: other socket trouble'],
    [
      { message: 'fetch failed', cause: { code: 'ENOTFOUND' } },
      'DNS lookup failed (no such host, or no network) [ENOTFOUND]',
    ],
  ])('names the cause %j', (cause, expected) => {
    expect(describeFetchError(fetchFailed(cause))).toBe(expected);
  });

  it('keeps the message of an error without a cause', () => {
    expect(describeFetchError(new Error('HTTP 500'))).toBe('HTTP 500');
    expect(describeFetchError('plain')).toBe('plain');
  });
});
