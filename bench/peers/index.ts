import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureModel } from '../../test/fixtures/model/make-model';
import { makeCorpus } from '../lib/corpus';
import { perRoundRatio, timeInterleaved } from '../lib/interleave';
import { LoadLog } from '../lib/load';
import { BenchOptions, BenchPart } from '../lib/part';
import { saveResults } from '../lib/results';
import { secondsSince } from '../lib/stats';
import { checkTarget } from '../lib/targets';
import { fastembedPeer, Peer, transformersJsPeer } from './peers';
import { cosine, referenceVectors } from './reference';
import { PeerFigure, PeersResults, printReport } from './report';
import { startService } from './service';

/** The embedding part's texts, capped at 150 words so none passes 256 tokens: cosines then compare arithmetic only. */
const CORPUS = { minWords: 5, maxWords: 150, seed: 20240611 };
const DEFAULTS = { texts: 128, rounds: 3 };
/** The service against every peer of the same precision. */
const TARGET = 2.5;

export const peersPart: BenchPart = {
  name: 'peers',
  description: 'the service (fp32, int8) vs transformers.js (fp32, q8) and fastembed-js, same texts, with cosines',
  run: runPeersBench,
};

async function runPeersBench(options: BenchOptions): Promise<void> {
  const startedAt = new Date();
  const started = performance.now();
  const log = (line: string) => console.log(line);
  const load = new LoadLog();
  const texts = options.texts ?? DEFAULTS.texts;
  const rounds = options.rounds ?? DEFAULTS.rounds;
  log(`\n== peers: ${texts} texts, ${rounds} interleaved rounds; ${load.note('start')} ==`);
  const modelDir = await ensureModel('minilm');
  const corpus = makeCorpus({ ...CORPUS, texts });
  const workDir = await mkdtemp(join(tmpdir(), 'bench-peers-'));
  const service = await startService(modelDir, workDir, options.databaseUrl, log);
  const peers: Peer[] = [...service.peers];
  try {
    peers.push(await transformersJsPeer(modelDir, 'fp32'), await transformersJsPeer(modelDir, 'q8'));
    peers.push(await fastembedPeer(modelDir, join(workDir, 'fastembed-cache')));
    log('reference vectors (each text alone, fp32, unpadded)…');
    const reference = await referenceVectors(modelDir, corpus);
    const figures = await measure(peers, corpus, reference, rounds, log);
    load.note('end');
    const results: PeersResults = {
      part: 'peers',
      startedAt: startedAt.toISOString(),
      durationSeconds: Math.round(secondsSince(started)),
      machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
      load: load.samples,
      settings: { texts, rounds, corpus: CORPUS, model: `minilm ${modelDir}` },
      peers: figures,
      targets: targetsOf(figures),
    };
    printReport(results, await saveResults('peers', results, startedAt));
  } finally {
    for (const peer of peers) await peer.dispose();
    await service.app.close();
    await rm(workDir, { recursive: true, force: true });
  }
}

async function measure(
  peers: Peer[],
  corpus: string[],
  reference: Float32Array[],
  rounds: number,
  log: (line: string) => void,
): Promise<PeerFigure[]> {
  const vectors = new Map<string, Float32Array[]>();
  const timings = await timeInterleaved(
    peers.map((peer) => ({
      name: peer.name,
      warmUp: async () => void (await peer.embed(corpus.slice(0, 8))),
      run: async () => void vectors.set(peer.name, await peer.embed(corpus)),
    })),
    {
      rounds,
      onRound: (name, round, seconds) =>
        log(`  round ${round + 1}/${rounds} ${name.padEnd(20)} ${seconds.toFixed(2)} s`),
    },
  );
  return peers.map((peer, index) => {
    const timing = timings[index];
    const service = timings.find(({ name }) => name === `service ${peer.precision}`)!;
    const cosines = vectors.get(peer.name)!.map((vector, text) => cosine(vector, reference[text]));
    return {
      name: peer.name,
      precision: peer.precision,
      how: peer.how,
      textsPerSecond: corpus.length / timing.medianSeconds,
      samplesSeconds: timing.samples,
      serviceRatio: perRoundRatio(service.samples, timing.samples),
      cosineMean: cosines.reduce((total, value) => total + value, 0) / cosines.length,
      cosineMin: Math.min(...cosines),
    };
  });
}

function targetsOf(figures: PeerFigure[]) {
  return figures
    .filter(({ name }) => !name.startsWith('service'))
    .map((peer) =>
      checkTarget(`service ${peer.precision} vs ${peer.name}`, `service / ${peer.name}`, peer.serviceRatio, TARGET),
    );
}
