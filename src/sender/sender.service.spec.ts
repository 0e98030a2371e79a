import { SchedulerRegistry } from '@nestjs/schedule';
import { AppConfig } from '../config/app-config';
import { DependencyBreakers } from './dependency-breakers';
import { MetricsService } from '../metrics/metrics.service';
import { waitFor } from '../../test/wait';
import { BatchWorker } from './batch-worker';
import { SenderRepository } from './sender.repository';
import { SenderService } from './sender.service';

/** The claim loop and the circuit breakers: no claim query at all for a model whose dependency is down. */
describe('SenderService claiming with breakers', () => {
  const config = {
    embedding: { models: [{ id: 'a' }, { id: 'b' }] },
    sender: {
      mode: 'local',
      workerId: 'w',
      batchSize: 4,
      leaseSeconds: 60,
      concurrency: 1,
      breakerFailures: 1,
      breakerProbeMs: 3_600_000,
    },
  } as unknown as AppConfig;
  let claims: string[][];
  let service: SenderService;
  let breakers: DependencyBreakers;

  beforeEach(() => {
    claims = [];
    const repository = {
      claim: jest.fn(async ({ models }: { models: string[] }) => void claims.push(models)),
    } as unknown as SenderRepository;
    const worker = { servedModels: async () => ['a', 'b'] } as unknown as BatchWorker;
    const metrics = new MetricsService(config);
    breakers = new DependencyBreakers(config, metrics);
    service = new SenderService(repository, worker, new SchedulerRegistry(), config, metrics, breakers);
  });

  const claimOnce = async () => {
    const before = claims.length;
    service.wake();
    await waitFor(async () => (claims.length > before ? true : undefined), 2000, 5);
    return claims[claims.length - 1];
  };

  it('claims for every served model while its dependencies are up', async () => {
    expect(await claimOnce()).toEqual(['a', 'b']);
  });

  it('leaves out a model whose back end is down, and every model while the receiver is down', async () => {
    breakers.get('embedding:a').failed('TEI answered 503');
    expect(await claimOnce()).toEqual(['b']);
    breakers.get('receiver').failed('receiver answered 503');
    const before = claims.length;
    service.wake();
    // The claim loop runs on the next ticks; give it time to (not) claim.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(claims.length).toBe(before);
    breakers.get('receiver').succeeded();
    expect(await claimOnce()).toEqual(['b']);
  });
});
