import { EmbeddingErrorCode } from '../../embedding.errors';
import { AimdWindow } from './aimd-window';
import { RateBudget } from './rate-budget';
import { RemoteUnavailableError } from './remote.errors';
import { RemoteFailureKind, RemoteRequestError } from './remote-request-error';
import { RemoteSender } from './remote-sender';
import { budgetLimiter, RequestLimiter, windowLimiter } from './request-limiter';

/** A remote that fails with these kinds, in order, then answers. */
function remote(...failures: (RemoteFailureKind | RemoteRequestError)[]) {
  let calls = 0;
  const send = async () => {
    const failure = failures[calls++];
    if (failure === undefined) return 'answer';
    throw failure instanceof RemoteRequestError ? failure : new RemoteRequestError(`answered ${failure}`, failure);
  };
  return { send, calls: () => calls };
}

const signal = new AbortController().signal;

function sender(limiter: RequestLimiter, maxAttempts = 3) {
  const statuses: unknown[] = [];
  const fatal: string[] = [];
  const remoteSender = new RemoteSender(limiter, {
    maxAttempts,
    retryBaseMs: 1,
    hint: (failure) => (failure.details.status === 401 ? ' (check the key)' : ''),
    onRequestError: (status) => statuses.push(status),
    onFatal: (message) => fatal.push(message),
  });
  return { remoteSender, statuses, fatal };
}

describe('RemoteSender', () => {
  const window = () => new AimdWindow({ max: 4 });

  it('retries transient failures, then gives up as a transient BackendUnavailable', async () => {
    const { remoteSender, statuses } = sender(windowLimiter(window()));
    const flaky = remote('transient', 'transient');
    await expect(remoteSender.send({ send: flaky.send, signal })).resolves.toBe('answer');
    const down = remote('transient', 'transient', 'transient');
    const failing = remoteSender.send({ send: down.send, signal });
    await expect(failing).rejects.toBeInstanceOf(RemoteUnavailableError);
    await expect(failing).rejects.toMatchObject({
      code: EmbeddingErrorCode.BackendUnavailable,
      transient: true,
      message: 'answered transient; gave up after 3 attempts',
    });
    expect(down.calls()).toBe(3);
    expect(statuses).toHaveLength(5);
  });

  it('passes a refusal of the input on for isolation, and refuses a bad parameter for the call', async () => {
    const { remoteSender } = sender(windowLimiter(window()));
    const refused = remote('input');
    await expect(remoteSender.send({ send: refused.send, signal })).rejects.toBeInstanceOf(RemoteRequestError);
    expect(refused.calls()).toBe(1);
    const parameter = new RemoteRequestError('no such size', 'request', { param: 'dimensions' });
    await expect(remoteSender.send({ send: remote(parameter).send, signal })).rejects.toMatchObject({
      code: EmbeddingErrorCode.InvalidInput,
      field: 'dimensions',
      message: 'the remote refused the request: no such size',
    });
  });

  it('stops at once on what only configuration fixes, with a hint, and says so for readiness', async () => {
    const { remoteSender, fatal } = sender(windowLimiter(window()));
    const unauthorized = new RemoteRequestError('answered 401', 'fatal', { status: 401 });
    await expect(remoteSender.send({ send: remote(unauthorized).send, signal })).rejects.toMatchObject({
      transient: false,
      message: 'answered 401 (check the key)',
    });
    expect(fatal).toEqual(['answered 401 (check the key)']);
  });

  it('behind a window: a 429 is a try like others, and shrinks the window', async () => {
    const aimd = window();
    const { remoteSender } = sender(windowLimiter(aimd), 2);
    const busy = remote('rate-limited', 'rate-limited');
    await expect(remoteSender.send({ send: busy.send, signal })).rejects.toThrow('gave up after 2 attempts');
    expect(busy.calls()).toBe(2);
    expect(aimd.snapshot().decreases).toBeGreaterThan(0);
  });

  it('behind a budget: a 429 pauses everyone without using up an attempt, and answers teach the budget', async () => {
    const budget = new RateBudget({ concurrency: 2 });
    const pause = jest.spyOn(budget, 'pause');
    const { remoteSender } = sender(budgetLimiter(budget, 1), 1);
    const limited = new RemoteRequestError('answered 429', 'rate-limited', { retryAfterMs: 5 });
    const busy = remote(limited, limited, limited);
    const limits = { limitRequests: 60 };
    const answer = remoteSender.send({ send: busy.send, signal, answered: () => ({ cost: 3, limits }) });
    await expect(answer).resolves.toBe('answer');
    expect(busy.calls()).toBe(4);
    expect(pause.mock.calls).toEqual([[5], [5], [5]]);
    expect(budget.snapshot()).toMatchObject({ requestsPerMinute: 60, inFlight: 0 });
  });

  it('ends at once, untried again, when the caller aborts', async () => {
    const { remoteSender } = sender(windowLimiter(window()));
    const abort = new AbortController();
    const send = () => {
      abort.abort(new Error('closing'));
      return Promise.reject(new RemoteRequestError('answered 503', 'transient'));
    };
    await expect(remoteSender.send({ send, signal: abort.signal })).rejects.toThrow('closing');
  });
});
