import { toProgress } from './task-progress';

const base = {
  status: 'running' as const,
  total: 10,
  pending: 10,
  in_progress: 0,
  done: 0,
  failed: 0,
  created_at: new Date('2026-01-01T00:00:00Z'),
  started_at: null,
  last_done_at: null,
};

describe('toProgress', () => {
  it('has no rate or ETA before any chunk is done', () => {
    expect(toProgress(base)).toMatchObject({ percent: 0, chunksPerSecond: null, etaSeconds: null, estimatedCompletionAt: null });
  });

  it('derives the rate from the start to the latest chunk done, and the ETA from what remains', () => {
    const now = new Date('2026-01-01T00:01:00Z');
    const progress = toProgress(
      {
        ...base,
        pending: 5,
        in_progress: 1,
        done: 4,
        started_at: new Date('2026-01-01T00:00:10Z'),
        last_done_at: new Date('2026-01-01T00:00:30Z'),
      },
      now,
    );
    expect(progress).toMatchObject({ inProgress: 1, percent: 40, chunksPerSecond: 0.2, etaSeconds: 30 });
    expect(progress.estimatedCompletionAt).toBe('2026-01-01T00:01:30.000Z');
  });

  it('counts failed chunks as settled, and gives a finished task no ETA', () => {
    const finished = { ...base, status: 'failed' as const, pending: 0, done: 7, failed: 3 };
    const progress = toProgress({ ...finished, last_done_at: new Date('2026-01-01T00:00:07Z') });
    expect(progress).toMatchObject({ percent: 100, etaSeconds: null, estimatedCompletionAt: null, chunksPerSecond: 1 });
  });

  it('gives a cancelled task no ETA, though chunks remain', () => {
    const cancelled = { ...base, status: 'cancelled' as const, pending: 6, done: 4 };
    const progress = toProgress({ ...cancelled, last_done_at: new Date('2026-01-01T00:00:04Z') });
    expect(progress).toMatchObject({ chunksPerSecond: 1, etaSeconds: null, estimatedCompletionAt: null });
  });

  it('reports 0% for an empty task', () => {
    expect(toProgress({ ...base, total: 0, pending: 0 }).percent).toBe(0);
  });
});
