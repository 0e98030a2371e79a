import { formatLoad } from '../lib/load';
import { formatNumber, renderTable } from '../lib/table';
import { TargetCheck } from '../lib/targets';

export interface PeerFigure {
  name: string;
  precision: 'fp32' | 'int8';
  how: string;
  textsPerSecond: number;
  samplesSeconds: number[];
  /** The service of the same precision ÷ this one, median of per-round ratios. */
  serviceRatio: number;
  cosineMean: number;
  cosineMin: number;
}

export interface PeersResults {
  part: 'peers';
  startedAt: string;
  durationSeconds: number;
  machine: Record<string, string | number>;
  load: { at: string; load: number[] }[];
  settings: Record<string, unknown>;
  peers: PeerFigure[];
  targets: TargetCheck[];
}

export function printReport(results: PeersResults, path: string): void {
  const { machine, load, durationSeconds } = results;
  console.log(`\npeers: ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}; ${durationSeconds} s`);
  load.forEach(({ at, load: values }) => console.log(`  ${at}: ${formatLoad(values)}`));
  const rows = results.peers.map((peer) => [
    peer.name,
    formatNumber(peer.textsPerSecond),
    peer.name.startsWith('service') ? '' : peer.serviceRatio.toFixed(2),
    `${peer.cosineMean.toFixed(5)} / ${peer.cosineMin.toFixed(5)}`,
  ]);
  console.log(renderTable(['', 'texts/s', 'service ÷ it (per round)', 'cosine to reference: mean / min'], rows));
  results.peers.forEach((peer) => console.log(`  ${peer.name}: ${peer.how}`));
  for (const target of results.targets) {
    console.log(
      `target ${target.ratioOf} ${target.ratio.toFixed(2)} ≥ ${target.target} ${target.pass ? 'PASS' : 'MISS'}`,
    );
  }
  console.log(`results: ${path}`);
}
