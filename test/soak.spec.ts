import { Journal } from '../scripts/soak/journal';
import { parseOptions } from '../scripts/soak/options';
import { FaultReceiver, Received } from '../scripts/soak/receiver';
import { Link, tallyLinks } from '../scripts/soak/verify';

/** The soak's own parts (npm run soak is not run in CI): its flags, its fault receiver and its verdict. */
describe('soak test parts', () => {
  describe('parseOptions', () => {
    it('reads numbers, inline values and repeated --sender-env', () => {
      const options = parseOptions([
        '--minutes',
        '2',
        '--outage-max-s=90',
        '--sender-env',
        'A=1',
        '--sender-env=B=x=y',
      ]);
      expect(options).toMatchObject({ minutes: 2, outageMaxS: 90, senderEnv: { A: '1', B: 'x=y' } });
    });

    it.each([
      [['--minutes', '0'], '--minutes must be above 0'],
      [['--outage-min-s', '30', '--outage-max-s', '10'], 'min is above max'],
      [['--poison-status', '404'], '--poison-status must be 422 or 500'],
      [['--hang-rate', 'x'], '--hang-rate needs a non-negative number'],
      [['--nope', '1'], 'unknown flag --nope'],
      [['--sender-env', 'NOEQUALS'], '--sender-env needs KEY=VALUE'],
    ])('refuses %j', (args, message) => {
      expect(() => parseOptions(args)).toThrow(message);
    });
  });

  describe('FaultReceiver', () => {
    let receiver: FaultReceiver;
    const post = (body: unknown) =>
      fetch(`${receiver.url}/receiver/embeddings`, { method: 'POST', body: JSON.stringify(body) });
    const batch = (taskId: number, ...items: [number, string][]) => ({
      task_id: taskId,
      items: items.map(([chunk_id, content_hash]) => ({ chunk_id, content_hash, embedding: 'AAAAAA==' })),
    });

    beforeEach(async () => {
      receiver = new FaultReceiver({ hangRate: 0, hangMs: 0, poisonStatus: 500 }, new Journal(1));
      await receiver.start();
    });
    afterEach(() => receiver.stop());

    it('stores per (task, chunk) and counts a delivery after an acknowledged one as a repeat', async () => {
      expect((await post(batch(1, [10, 'h10'], [11, 'h11']))).status).toBe(200);
      expect(await (await post(batch(1, [10, 'h10']))).json()).toEqual({ stored: 1 });
      expect(receiver.received.get('1:10')).toEqual({
        contentHash: 'h10',
        deliveries: 2,
        acknowledged: 2,
        afterAck: 1,
      });
      expect(receiver.received.get('1:11')).toMatchObject({ deliveries: 1, afterAck: 0 });
    });

    it('refuses a batch holding a poison chunk, naming that chunk, and stores nothing of it', async () => {
      receiver.poisonHashes.add('bad');
      const res = await post(batch(2, [20, 'ok'], [21, 'bad']));
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ message: 'items[1]: poison chunk 21 refused' });
      expect(receiver.received.size).toBe(0);
    });

    it('answers 503 during an outage and refuses connections while its listener is closed, then comes back', async () => {
      receiver.state = '503';
      expect((await post(batch(3, [30, 'h']))).status).toBe(503);
      await receiver.refuse();
      await expect(post(batch(3, [30, 'h']))).rejects.toThrow('fetch failed');
      await receiver.start();
      expect((await post(batch(3, [30, 'h']))).status).toBe(200);
    });
  });

  describe('tallyLinks', () => {
    const link = (chunkId: number, status: string, poison = false, lastError: string | null = null): Link => ({
      taskId: 1,
      chunkId,
      status,
      lastError,
      contentHash: `h${chunkId}`,
      poison,
    });
    const stored = (chunkId: number, deliveries = 1, afterAck = 0): [string, Received] => [
      `1:${chunkId}`,
      { contentHash: `h${chunkId}`, deliveries, acknowledged: deliveries, afterAck },
    ];

    it('passes regular chunks done and stored, poison failed with its own message; counts repeats', () => {
      const violations: string[] = [];
      const links = [
        link(1, 'done'),
        link(2, 'done'),
        link(3, 'failed', true, 'receiver answered 500: poison chunk 3 refused'),
      ];
      const findings = tallyLinks(links, new Map([stored(1, 3, 1), stored(2)]), violations);
      expect(violations).toEqual([]);
      expect(findings).toMatchObject({
        storedDistinct: 2,
        deliveries: 4,
        duplicatesAfterAck: 1,
        repeatsBeforeAck: 1,
        failedPoison: 1,
        failedOther: 0,
      });
    });

    it('flags failed regular chunks, unstored done ones, open links and poison failed by another chunk', () => {
      const violations: string[] = [];
      const links = [
        link(1, 'failed', false, 'receiver answered 500: poison chunk 3 refused'),
        link(2, 'done'),
        link(3, 'failed', true, 'receiver answered 500: poison chunk 4 refused'),
        link(4, 'pending', true),
      ];
      const findings = tallyLinks(links, new Map(), violations);
      expect(findings).toMatchObject({ failedOther: 1, failedPoison: 0, open: 1 });
      expect(violations).toEqual([
        'regular chunks failed: 1 (e.g. task 1 chunk 1 failed: receiver answered 500: poison chunk 3 refused)',
        'regular chunks never stored (done): 1 (e.g. task 1 chunk 2 done)',
        "poison chunks failed without the receiver's message for them: 1 (e.g. task 1 chunk 3 failed: receiver answered 500: poison chunk 4 refused)",
        'poison chunks not failed: 1 (e.g. task 1 chunk 4 pending)',
        'links still pending or in progress after the drain: 1',
      ]);
    });
  });
});
