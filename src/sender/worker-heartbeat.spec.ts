import { Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { WorkerRepository } from '../task/worker.repository';
import { waitFor } from '../../test/wait';
import { BatchWorker } from './batch-worker';
import { WorkerHeartbeat } from './worker-heartbeat';

describe('WorkerHeartbeat', () => {
  const config = (enabled = true) =>
    ({ sender: { enabled, workerId: 'w1', heartbeatIntervalMs: 20 } }) as unknown as AppConfig;
  let beats: { id: string; models: string[]; intervalMs: number }[];
  let removed: string[];
  let failing: boolean;
  let models: string[];
  const repository = {
    beat: async (id: string, served: string[], intervalMs: number) => {
      if (failing) throw new Error('database away');
      beats.push({ id, models: served, intervalMs });
    },
    remove: async (id: string) => void removed.push(id),
  } as unknown as WorkerRepository;
  const worker = (canAppear = false) =>
    ({ servedModels: async () => models, modelsCanAppear: canAppear }) as unknown as BatchWorker;

  beforeEach(() => {
    beats = [];
    removed = [];
    failing = false;
    models = ['a'];
  });

  it('writes the first beat at start, then again with the models served at each beat, and removes the row on shutdown', async () => {
    const heartbeat = new WorkerHeartbeat(repository, worker(), config());
    await heartbeat.onApplicationBootstrap();
    expect(beats).toEqual([{ id: 'w1', models: ['a'], intervalMs: 20 }]);
    models = ['a', 'b'];
    await waitFor(async () => (beats.some((beat) => beat.models.length === 2) ? true : undefined), 5000, 5);
    await heartbeat.beforeApplicationShutdown();
    expect(removed).toEqual(['w1']);
    const after = beats.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(beats).toHaveLength(after);
  });

  it('writes no row when the sender is off, or serves nothing and cannot learn models', async () => {
    for (const heartbeat of [
      new WorkerHeartbeat(repository, worker(), config(false)),
      ((models = []), new WorkerHeartbeat(repository, worker(false), config())),
    ]) {
      await heartbeat.onApplicationBootstrap();
      await heartbeat.beforeApplicationShutdown();
    }
    expect(beats).toEqual([]);
    expect(removed).toEqual([]);
    const remote = new WorkerHeartbeat(repository, worker(true), config());
    await remote.onApplicationBootstrap();
    await remote.beforeApplicationShutdown();
    expect(beats).toEqual([{ id: 'w1', models: [], intervalMs: 20 }]);
  });

  it('logs a failing beat once until one succeeds again', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    failing = true;
    const heartbeat = new WorkerHeartbeat(repository, worker(), config());
    try {
      await heartbeat.onApplicationBootstrap();
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toContain('writing the heartbeat failed: Error: database away');
      failing = false;
      await waitFor(async () => (beats.length > 0 ? true : undefined), 5000, 5);
      expect(log).toHaveBeenCalledWith('heartbeat written again');
    } finally {
      await heartbeat.beforeApplicationShutdown();
      warn.mockRestore();
      log.mockRestore();
    }
  });
});
