import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { sleep } from '../../src/common/backoff';
import { FedTask, POISON_MARKER, TEXT_MARKER } from './feeder';
import { Journal } from './journal';
import { Received } from './receiver';

interface Link {
  taskId: number;
  chunkId: number;
  status: string;
  lastError: string | null;
  contentHash: string;
  poison: boolean;
}

export interface Findings {
  tasks: number;
  links: number;
  poison: number;
  nonPoison: number;
  storedDistinct: number;
  deliveries: number;
  /** Deliveries of a (task, chunk) after one was acknowledged. */
  duplicatesAfterAck: number;
  /** Repeats after a delivery whose acknowledgement was lost (stored, never answered). */
  repeatsAfterLostAck: number;
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
  const { rows } = await client.query(`SELECT count(*)::int AS n FROM mgmt.task`);
  const violations: string[] = [];
  const findings = tallyLinks(links, received, violations);
  await checkFed(client, fed, violations);
  if (drift.drifted.length > 0) violations.push(`${drift.drifted.length} tasks whose counters differ from their links`);
  const markerLogLines = countMarkerLines(logDir);
  if (markerLogLines > 0) violations.push(`${markerLogLines} sender log lines carry chunk text ("${TEXT_MARKER}")`);
  return { ...findings, tasks: rows[0].n, drifted: drift.drifted.length, markerLogLines, violations };
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

type LinkFindings = Omit<Findings, 'tasks' | 'drifted' | 'markerLogLines' | 'violations'>;

function tallyLinks(links: Link[], received: Map<string, Received>, violations: string[]): LinkFindings {
  const problems = new Map<string, number>();
  const note = (problem: string) => problems.set(problem, (problems.get(problem) ?? 0) + 1);
  const failedOtherErrors = new Map<string, number>();
  let failedPoison = 0;
  let failedOther = 0;
  let open = 0;
  const keys = new Set<string>();
  for (const link of links) {
    const key = `${link.taskId}:${link.chunkId}`;
    keys.add(key);
    const stored = received.get(key);
    if (link.status === 'pending' || link.status === 'in_progress') open++;
    if (stored && stored.contentHash !== link.contentHash) note("stored with a content hash other than the text's");
    if (link.poison) {
      if (stored) note('poison chunks stored by the receiver');
      if (link.status !== 'failed') note('poison chunks not failed');
      else if (!namesItself(link)) note("poison chunks failed without the receiver's message for them");
      else failedPoison++;
      continue;
    }
    if (link.status === 'failed') {
      failedOther++;
      note('non-poison chunks failed');
      const error = (link.lastError ?? '').replace(/\d+/g, 'N').slice(0, 120);
      failedOtherErrors.set(error, (failedOtherErrors.get(error) ?? 0) + 1);
    }
    if (!stored) note(`non-poison chunks never stored (status ${link.status})`);
    if (stored && link.status !== 'done') note(`non-poison chunks stored but ${link.status}`);
  }
  const strangers = [...received.keys()].filter((key) => !keys.has(key)).length;
  if (strangers > 0) note('(task, chunk) pairs stored that no link names');
  if (open > 0) note('links still pending or in progress after the drain');
  for (const [problem, count] of problems) violations.push(`${problem}: ${count}`);
  const records = [...received.values()];
  return {
    links: links.length,
    poison: links.filter((link) => link.poison).length,
    nonPoison: links.filter((link) => !link.poison).length,
    storedDistinct: received.size,
    deliveries: records.reduce((sum, record) => sum + record.deliveries, 0),
    duplicatesAfterAck: records.reduce((sum, record) => sum + record.afterAck, 0),
    repeatsAfterLostAck: records.reduce((sum, record) => sum + record.deliveries - 1 - record.afterAck, 0),
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
