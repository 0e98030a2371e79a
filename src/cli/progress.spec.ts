import type { Task } from './api-client';
import { formatDuration, formatUsage, table } from './format';
import { bar, BAR_WIDTH, PlainProgress, progressLine, TtyProgress } from './progress';

function task(overrides: Partial<Task['progress']> = {}, status: Task['status'] = 'running'): Task {
  return {
    id: 12,
    name: 'docs',
    model: 'tiny',
    status,
    waiting: null,
    priority: 0,
    metadata: {},
    lastError: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    startedAt: '2026-01-01T00:00:01.000Z',
    finishedAt: null,
    progress: {
      total: 1000,
      pending: 540,
      inProgress: 5,
      done: 453,
      failed: 2,
      percent: 45.5,
      chunksPerSecond: 123.456,
      etaSeconds: 4.4,
      estimatedCompletionAt: null,
      ...overrides,
    },
    usage: { tokens: 0, savedTokens: 0, cost: null },
  };
}

describe('progress line', () => {
  it('shows the bar, percent, counts, rate and ETA', () => {
    expect(progressLine(task(), 120)).toBe(
      'task 12 running [============>                 ]   45.5%  453 done, 2 failed of 1000  123 chunks/s  ETA 4s',
    );
  });

  it('says -- before the server knows a rate, and drops the bar on a narrow terminal', () => {
    const line = progressLine(task({ chunksPerSecond: null, etaSeconds: null, done: 0, percent: 0 }), 80);
    expect(line).toBe('task 12 running    0.0%  0 done, 2 failed of 1000  -- chunks/s  ETA --');
    expect(progressLine(task(), 30).length).toBeLessThanOrEqual(29);
  });

  it('keeps the bar at one width however long the text after it grows', () => {
    const short = progressLine(task({ done: 1, total: 10, percent: 10, chunksPerSecond: 1, etaSeconds: 9 }), 160);
    const long = progressLine(task({ done: 123456, total: 9999999, percent: 10, etaSeconds: 7380 }), 160);
    const barOf = (line: string) => /\[[=> ]*\]/.exec(line)![0];
    expect(barOf(short)).toHaveLength(BAR_WIDTH + 2);
    expect(barOf(long)).toBe(barOf(short));
  });

  it('says why an open task waits instead of an ETA', () => {
    const waiting = { ...task({ done: 0, percent: 0, chunksPerSecond: null, etaSeconds: null }, 'pending') };
    waiting.waiting = 'no worker serves model tiny';
    expect(progressLine(waiting, 160)).toMatch(/-- chunks\/s {2}no worker serves model tiny$/);
  });

  it('draws bars of the asked width', () => {
    expect(bar(0, 10)).toBe('[          ]');
    expect(bar(50, 10)).toBe('[====>     ]');
    expect(bar(100, 10)).toBe('[==========]');
  });

  it('formats durations for people', () => {
    expect(formatDuration(4.4)).toBe('4s');
    expect(formatDuration(185)).toBe('3m 05s');
    expect(formatDuration(7380)).toBe('2h 03m');
  });

  it('lays out tables in columns', () => {
    expect(
      table(
        ['ID', 'NAME'],
        [
          ['1', 'a'],
          ['100', 'b'],
        ],
      ),
    ).toBe('ID   NAME\n1    a\n100  b');
  });
});

describe('renderers', () => {
  const sink = () => {
    const writes: string[] = [];
    return { writes, stream: { write: (text: string) => writes.push(text) > 0, columns: 120, isTTY: true } };
  };

  it('redraws one line in place on a terminal and ends it on close', () => {
    const { writes, stream } = sink();
    const tty = new TtyProgress(stream as unknown as NodeJS.WriteStream);
    tty.update(task());
    tty.update(task({ done: 1000, pending: 0, inProgress: 0, failed: 0, percent: 100 }, 'completed'));
    tty.close();
    expect(writes).toHaveLength(3);
    expect(writes[0]).toMatch(/^\rtask 12 running .*/);
    expect(writes[0].endsWith('\x1b[K')).toBe(true);
    expect(writes[1]).toMatch(/^\rtask 12 completed /);
    expect(writes[2]).toBe('\n');
  });

  it('writes a plain line when the status changes or every few seconds, not on every poll', () => {
    const { writes, stream } = sink();
    let now = 0;
    const plain = new PlainProgress(stream as unknown as NodeJS.WritableStream, 5000, () => now);
    plain.update(task());
    now = 1000;
    plain.update(task());
    now = 6000;
    plain.update(task());
    now = 6500;
    plain.update(task({}, 'completed'));
    expect(writes).toHaveLength(3);
    expect(writes.every((line) => line.endsWith('\n') && !line.includes('\r'))).toBe(true);
  });
});

describe('formatUsage', () => {
  const usage = (tokens: number, savedTokens: number, cost: number | null) => ({
    ...task(),
    usage: { tokens, savedTokens, cost },
  });

  it('says what the done chunks cost, what reuse saved, and the cost when priced; nothing when nothing was counted', () => {
    expect(formatUsage(usage(12345, 1200, 0.0061725))).toBe('12,345 tokens (1,200 saved), cost 0.0061725');
    expect(formatUsage(usage(500, 0, null))).toBe('500 tokens');
    expect(formatUsage(usage(0, 0, null))).toBe('');
  });
});
