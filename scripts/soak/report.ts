import { formatNumber } from '../../bench/lib/table';
import { Tally } from './journal';
import { FaultReceiver } from './receiver';
import { Findings } from './verify';

export interface RunFigures {
  chaosSeconds: number;
  drainSeconds: number;
  totalSeconds: number;
}

/** The summary: one table of counts, the top errors of chunks that should not have failed, and the violations. */
export function renderReport(findings: Findings, tally: Tally, receiver: FaultReceiver, run: RunFigures): string {
  const f = findings;
  const rows: [string, string][] = [
    [
      'tasks',
      `${f.tasks} (REST ${tally.restTasks} acknowledged, ${tally.restRefused} refused${refusals(tally)}; SQL feeds ${tally.sqlTasks}, ${tally.sqlRefused} refused)`,
    ],
    ['task statuses', f.taskStatuses],
    ['chunks (links)', `${f.links} (${f.nonPoison} regular, ${f.poison} poison)`],
    ['stored at receiver (distinct)', `${f.storedDistinct}`],
    ['deliveries stored', `${f.deliveries}`],
    ['duplicate deliveries after an ack', `${f.duplicatesAfterAck}`],
    ['repeats before any ack', `${f.repeatsBeforeAck} (${receiver.stats.lostAcks} answers dropped on purpose)`],
    ['failed poison (chunk-specific)', `${f.failedPoison} of ${f.poison}`],
    ['failed other', `${f.failedOther}`],
    ['pending or in progress', `${f.open}`],
    ['tasks with counter drift', `${f.drifted}`],
    ['log lines with chunk text', `${f.markerLogLines}`],
    ['sender SIGKILLs', `${tally.sigkills}`],
    [
      'sender SIGTERMs',
      `${tally.sigterms} (${tally.sigtermUnclean} not clean, ${tally.sigtermLeasesLeft} leases left held)`,
    ],
    ['sender exits unasked', `${tally.unexpectedExits} (starts in all: ${tally.senderStarts})`],
    [
      'receiver outages',
      `${tally.outages503} × 503 (${receiver.stats.outageAnswers} requests answered 503), ${tally.outagesRefused} × refused; ${formatNumber(tally.outageSeconds, 0)} s, longest ${formatNumber(tally.longestOutageS, 0)} s`,
    ],
    [
      'receiver hangs',
      `${receiver.stats.hangs} (of ${receiver.stats.requests} batches); poison answers ${receiver.stats.poisonAnswers}`,
    ],
    [
      'PostgreSQL restarts',
      `${tally.pgRestarts} (${formatNumber(tally.pgDownSeconds, 0)} s down; senders survived ${tally.sendersSurvivedPg}, exited ${tally.sendersExitedOnPg})`,
    ],
    [
      'hostile requests',
      `${tally.hostileAttacks} attacks; answers ${answers(tally.hostileAnswers)}; ${tally.hostileFailures} failures, ${tally.hostileDeaths} senders died`,
    ],
    [
      'duration',
      `${formatNumber(run.totalSeconds, 0)} s (chaos ${formatNumber(run.chaosSeconds, 0)} s, drain ${formatNumber(run.drainSeconds, 0)} s)`,
    ],
    [
      'throughput',
      `${formatNumber(f.storedDistinct / Math.max(1, run.chaosSeconds + run.drainSeconds), 1)} chunks/s stored`,
    ],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
  if (f.failedOtherErrors.length > 0) {
    lines.push('', 'Errors of failed regular chunks (digits as N):');
    for (const [error, count] of f.failedOtherErrors) lines.push(`  ${String(count).padStart(6)}  ${error}`);
  }
  lines.push('', f.violations.length === 0 ? 'No violation.' : `VIOLATIONS (${f.violations.length}):`);
  for (const violation of f.violations) lines.push(`  - ${violation}`);
  return lines.join('\n');
}

/** ` (500 ×2, network ×1)`, or nothing when REST refused nothing. */
function refusals(tally: Tally): string {
  const entries = Object.entries(tally.restRefusedBy);
  return entries.length === 0 ? '' : ` (${entries.map(([reason, count]) => `${reason} ×${count}`).join(', ')})`;
}

const answers = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([status, count]) => `${status}×${count}`)
    .join(' ') || 'none';
