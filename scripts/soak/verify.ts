import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { sleep } from '../../src/common/backoff';
import { FedTask, POISON_MARKER, TEXT_MARKER } from './feeder';
import { Journal, Tally } from './journal';
import { Received } from './receiver';

export interface Link {
  taskId: number;
  chunkId: number;
  status: string;
  lastError: string | null;
  contentHash: string;
  poison: boolean;
}

export interface Findings {
  tasks: number;
  /** Tasks by status, e.g. `completed 60, failed 15`. */
  taskStatuses: string;
  links: number;
  poison: number;
  nonPoison: number;
  storedDistinct: number;
  deliveries: number;
  /** Deliveries of a (task, chunk) after one was acknowledged. */
  duplicatesAfterAck: number;
  /** Repeats before any acknowledgement: the answer was lost (a hang, a timeout, a sender killed mid-request). */
  repeatsBeforeAck: number;
  failedPoison: number;
  failedOther: number;
  open: number;
  drifted: number;
  markerLogLines: number;
  violations: string[];
  failedOtherErrors: [string, number][];
}

/** Waits until no link is pending or in progress, or `timeoutMs` passes; returns how many are still open. */
export async function drain(client: Client, timeoutMs: number, journal: Journal): Promise<number> {
  const until = Date.now() + timeoutMs;
  let lastReport = 0;
  for (;;) {
    const open = await openLinks(client);
    if (open === 0 || Date.now() > until) return open;
    if (Date.now() - lastReport > 15_000) {
      journal.event(`draining: ${open} links pending or in progress`);
      lastReport = Date.now();
    }
    await sleep(1000);
  }
}

async function openLinks(client: Client): Promise<number> {
  const { rows } = await client.query(
    `SELECT count(*)::int AS n FROM mgmt.embed_task_chunk WHERE status IN ('pending', 'in_progress')`,
  );
  return rows[0].n;
}

/** Holds the database's links, the receiver's records and the acknowledged feeds to the soak's promises. */
export async function verify(
  client: Client,
  received: Map<string, Received>,
  fed: Map<string, FedTask>,
  drift: { drifted: unknown[] },
  logDir: string,
): Promise<Findings> {
  const links = await readLinks(client);
  const violations: string[] = [];
  const findings = tallyLinks(links, received, violations);
  const { tasks, taskStatuses } = await checkTasks(client, findings.open === 0, violations);
  await checkFed(client, fed, violations);
  if (drift.drifted.length > 0) violations.push(`${drift.drifted.length} tasks whose counters differ from their links`);
  const markerLogLines = countMarkerLines(logDir);
  if (markerLogLines > 0) violations.push(`${markerLogLines} sender log lines carry chunk text ("${TEXT_MARKER}")`);
  return { ...findings, tasks, taskStatuses, drifted: drift.drifted.length, markerLogLines, violations };
}

/** Tasks by status; once every link is settled, no task may still be pending or running (its status follows them). */
async function checkTasks(client: Client, settled: boolean, violations: string[]) {
  const { rows } = await client.query(
    `SELECT status, count(*)::int AS n FROM mgmt.task GROUP BY status ORDER BY status`,
  );
  const unsettled = rows.filter((row) => settled && (row.status === 'pending' || row.status === 'running'));
  for (const row of unsettled) violations.push(`tasks still ${row.status} with every link settled: ${row.n}`);
  return {
    tasks: rows.reduce((sum: number, row: { n: number }) => sum + row.n, 0),
    taskStatuses: rows.map((row) => `${row.status} ${row.n}`).join(', '),
  };
}

async function readLinks(client: Client): Promise<Link[]> {
  const { rows } = await client.query(
    `SELECT l.task_id, l.chunk_id, l.status, l.last_error, c.content_hash, strpos(c.text, $1) > 0 AS poison
       FROM mgmt.embed_task_chunk l JOIN mgmt.embed_chunk c ON c.id = l.chunk_id`,
    [POISON_MARKER],
  );
  return rows.map((row) => ({
    taskId: Number(row.task_id),
    chunkId: Number(row.chunk_id),
    status: row.status,
    lastError: row.last_error,
    contentHash: row.content_hash,
    poison: row.poison,
  }));
}

/** The receiver's message for this very chunk, not for another poison chunk of the same batch. */
const namesItself = (link: Link) =>
  /poison chunk (\d+) refused/.exec(link.lastError ?? '')?.[1] === String(link.chunkId);

type LinkFindings = Omit<Findings, 'tasks' | 'taskStatuses' | 'drifted' | 'markerLogLines' | 'violations'>;

/** Each kind of violation with its count and its first example, for the report. */
class Problems {
  private readonly seen = new Map<string, { count: number; example?: string }>();

  note(problem: string, link?: Link, count = 1): void {
    const entry = this.seen.get(problem) ?? { count: 0, example: link && describe(link) };
    entry.count += count;
    this.seen.set(problem, entry);
  }

  lines(): string[] {
    return [...this.seen].map(
      ([problem, { count, example }]) => `${problem}: ${count}${example ? ` (e.g. ${example})` : ''}`,
    );
  }
}

/** Ids, status and error of a link: never its text. */
const describe = (link: Link) =>
  `task ${link.taskId} chunk ${link.chunkId} ${link.status}${link.lastError ? `: ${link.lastError.slice(0, 100)}` : ''}`;

/** What a poison link must be: failed with the receiver's message for itself, never stored. */
function checkPoison(link: Link, stored: Received | undefined, problems: Problems): boolean {
  if (stored) problems.note('poison chunks stored by the receiver', link);
  if (link.status !== 'failed') problems.note('poison chunks not failed', link);
  else if (!namesItself(link)) problems.note("poison chunks failed without the receiver's message for them", link);
  else return true;
  return false;
}

/** What a regular link must be: done and stored. */
function checkRegular(link: Link, stored: Received | undefined, problems: Problems): void {
  if (link.status === 'failed') problems.note('regular chunks failed', link);
  else if (!stored) problems.note(`regular chunks never stored (${link.status})`, link);
  if (stored && link.status !== 'done') problems.note(`regular chunks stored but ${link.status}`, link);
}

export function tallyLinks(links: Link[], received: Map<string, Received>, violations: string[]): LinkFindings {
  const problems = new Problems();
  const failedOtherErrors = new Map<string, number>();
  let failedPoison = 0;
  const keys = new Set<string>();
  for (const link of links) {
    const key = `${link.taskId}:${link.chunkId}`;
    keys.add(key);
    const stored = received.get(key);
    if (stored && stored.contentHash !== link.contentHash)
      problems.note("stored with another content hash than the text's", link);
    if (link.poison) {
      if (checkPoison(link, stored, problems)) failedPoison++;
      continue;
    }
    checkRegular(link, stored, problems);
    if (link.status !== 'failed') continue;
    const error = (link.lastError ?? '').replace(/\d+/g, 'N').slice(0, 120);
    failedOtherErrors.set(error, (failedOtherErrors.get(error) ?? 0) + 1);
  }
  const strangers = [...received.keys()].filter((key) => !keys.has(key)).length;
  if (strangers > 0) problems.note('(task, chunk) pairs stored that no link names', undefined, strangers);
  const open = links.filter((link) => link.status === 'pending' || link.status === 'in_progress').length;
  if (open > 0) problems.note('links still pending or in progress after the drain', undefined, open);
  violations.push(...problems.lines());
  const failedOther = links.filter((link) => !link.poison && link.status === 'failed').length;
  const records = [...received.values()];
  return {
    links: links.length,
    poison: links.filter((link) => link.poison).length,
    nonPoison: links.filter((link) => !link.poison).length,
    storedDistinct: received.size,
    deliveries: records.reduce((sum, record) => sum + record.deliveries, 0),
    duplicatesAfterAck: records.reduce((sum, record) => sum + record.afterAck, 0),
    repeatsBeforeAck: records.reduce((sum, record) => sum + record.deliveries - 1 - record.afterAck, 0),
    failedPoison,
    failedOther,
    open,
    failedOtherErrors: [...failedOtherErrors.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5),
  };
}

/** Every task the service acknowledged exists with at least the links it was given (exactly, for REST). */
async function checkFed(client: Client, fed: Map<string, FedTask>, violations: string[]): Promise<void> {
  const { rows } = await client.query(
    `SELECT t.id, count(l.id)::int AS links FROM mgmt.task t LEFT JOIN mgmt.embed_task_chunk l ON l.task_id = t.id GROUP BY t.id`,
  );
  const counted = new Map(rows.map((row: { id: string; links: number }) => [Number(row.id), row.links]));
  let wrong = 0;
  for (const task of fed.values()) {
    const links = counted.get(task.id);
    const ok = links !== undefined && (task.via === 'rest' ? links === task.links : links >= task.links);
    if (!ok) wrong++;
  }
  if (wrong > 0) violations.push(`acknowledged tasks missing or short of links: ${wrong}`);
}

function countMarkerLines(logDir: string): number {
  let lines = 0;
  for (const file of readdirSync(logDir).filter((name) => name.startsWith('sender-'))) {
    lines += readFileSync(join(logDir, file), 'utf8')
      .split('\n')
      .filter((line) => line.includes(TEXT_MARKER)).length;
  }
  return lines;
}

/** What the processes themselves must do: stop cleanly on SIGTERM and hand back their leases. */
export function processViolations(tally: Tally): string[] {
  const violations: string[] = [];
  if (tally.sigtermUnclean > 0)
    violations.push(`senders that did not exit 0 within their grace on SIGTERM: ${tally.sigtermUnclean}`);
  if (tally.sigtermLeasesLeft > 0)
    violations.push(`leases still held by senders that exited on SIGTERM: ${tally.sigtermLeasesLeft}`);
  if (tally.hostileFailures > 0) violations.push(`hostile requests answered with a failure: ${tally.hostileFailures}`);
  if (tally.hostileDeaths > 0) violations.push(`senders that died under a hostile request: ${tally.hostileDeaths}`);
  return violations;
}
