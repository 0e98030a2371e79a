import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ensureModel } from '../../../../test/fixtures/model/make-model';
import { sessionOptions } from './onnx-session';
import { ThreadedSession } from './session-thread';

/** A batch of `texts` rows of `length` token ids (any ids below the tiny vocabulary), all attended. */
function feeds(session: { inputNames: readonly string[] }, texts: number, length: number): Record<string, Tensor> {
  const shape = [texts, length];
  const ids = BigInt64Array.from({ length: texts * length }, (_, index) => BigInt(5 + ((index * 7) % 90)));
  const all: Record<string, Tensor> = {
    input_ids: new Tensor('int64', ids, shape),
    attention_mask: new Tensor('int64', new BigInt64Array(texts * length).fill(1n), shape),
    token_type_ids: new Tensor('int64', new BigInt64Array(texts * length), shape),
  };
  return Object.fromEntries(session.inputNames.map((name) => [name, all[name]]));
}

describe('ThreadedSession', () => {
  let path: string;
  let threaded: ThreadedSession;
  let direct: InferenceSession;
  const options = sessionOptions({ device: 'cpu' }, ['cpu']);

  beforeAll(async () => {
    path = join(await ensureModel('tiny'), 'onnx/model.onnx');
    threaded = await ThreadedSession.create(path, options);
    direct = await InferenceSession.create(path, options);
  });

  afterAll(async () => {
    await threaded?.release();
    await direct?.release();
  });

  it('describes the graph as onnxruntime does', () => {
    expect(threaded.inputNames).toEqual(direct.inputNames);
    expect(threaded.outputNames).toEqual(direct.outputNames);
    expect(threaded.outputMetadata).toEqual(direct.outputMetadata);
  });

  it('answers the same outputs as a session on the calling thread', async () => {
    const batch = feeds(direct, 4, 16);
    const [name] = direct.outputNames;
    const [mine, theirs] = [await threaded.run(batch, [name]), await direct.run(batch, [name])];
    expect(mine[name].dims).toEqual(theirs[name].dims);
    expect(mine[name].type).toBe(theirs[name].type);
    expect(Array.from(mine[name].data as Float32Array)).toEqual(Array.from(theirs[name].data as Float32Array));
  });

  it('leaves the event loop free while a run computes (onnxruntime-node alone blocks it until the run ends)', async () => {
    const [name] = direct.outputNames;
    const turnedDuring = async (session: { run: ThreadedSession['run'] }) => {
      let turned = false;
      const run = session.run(feeds(direct, 64, 64), [name]);
      setImmediate(() => (turned = true));
      await run;
      return turned;
    };
    expect(await turnedDuring(threaded)).toBe(true);
    // The contrast that makes this test mean something: on the calling thread the run ends first.
    expect(await turnedDuring(direct)).toBe(false);
  });

  it("rejects with onnxruntime's own message, and the session goes on", async () => {
    const [name] = direct.outputNames;
    await expect(threaded.run({ nonsense: new Tensor('float32', [1], [1]) }, [name])).rejects.toThrow("input 'input_ids' is missing in 'feeds'.");
    await expect(threaded.run(feeds(direct, 1, 4), [name])).resolves.toHaveProperty(name);
  });

  it('refuses runs once released, and fails a file onnxruntime cannot load with its message', async () => {
    const released = await ThreadedSession.create(path, options);
    await released.release();
    await expect(released.run(feeds(direct, 1, 4), [direct.outputNames[0]])).rejects.toThrow(/released/);
    await expect(ThreadedSession.create(join(path, '../missing.onnx'), options)).rejects.toThrow(/missing\.onnx/);
  });
});
