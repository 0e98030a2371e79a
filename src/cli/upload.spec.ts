import { ApiClient, ChunkInput, Task } from './api-client';
import { ApiError } from './errors';
import { uploadTask } from './upload';

/** A server that takes at most `limit` chunks per request and records what it got. */
function fakeServer(limit: number, refuseAfterRequests = Infinity) {
  const requests: { kind: 'create' | 'append'; size: number }[] = [];
  const task = { id: 7 } as Task;
  const accept = (kind: 'create' | 'append', chunks: ChunkInput[]) => {
    if (chunks.length > limit) return Promise.reject(new ApiError(`at most ${limit} chunks per request`, 413));
    requests.push({ kind, size: chunks.length });
    return Promise.resolve(task);
  };
  const client = {
    createTask: ({ chunks }: { chunks: ChunkInput[] }) => accept('create', chunks),
    addChunks: (_id: number, chunks: ChunkInput[]) =>
      requests.length >= refuseAfterRequests
        ? Promise.reject(new ApiError('task 7 is completed', 409))
        : accept('append', chunks),
  } as unknown as ApiClient;
  return { client, requests };
}

const chunks = (n: number) => Array.from({ length: n }, (_, i) => ({ text: `chunk ${i}` }));

describe('uploadTask', () => {
  it('creates the task with the first batch and appends the rest', async () => {
    const { client, requests } = fakeServer(100);
    await uploadTask(client, { name: 'n', model: 'm' }, chunks(250), 100);
    expect(requests).toEqual([
      { kind: 'create', size: 100 },
      { kind: 'append', size: 100 },
      { kind: 'append', size: 50 },
    ]);
  });

  it('halves the batch on 413 until the server takes it, then keeps that size', async () => {
    const { client, requests } = fakeServer(30);
    const halved: number[] = [];
    await uploadTask(client, { name: 'n', model: 'm' }, chunks(100), 100, { halved: (_, to) => halved.push(to) });
    expect(halved).toEqual([50, 25]);
    expect(requests.map((r) => r.size)).toEqual([25, 25, 25, 25]);
  });

  it('says how much of the input a task holds when adding the rest fails', async () => {
    const { client } = fakeServer(10, 2);
    await expect(uploadTask(client, { name: 'n', model: 'm' }, chunks(50), 10)).rejects.toThrow(
      'task 7 holds only 20 of the 50 chunks: adding the rest failed: task 7 is completed',
    );
  });

  it('gives up when even one chunk is too large', async () => {
    const { client } = fakeServer(0);
    await expect(uploadTask(client, { name: 'n', model: 'm' }, chunks(3), 2)).rejects.toMatchObject({ status: 413 });
  });
});
