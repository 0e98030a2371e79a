import { choiceOption, intOption, taskId } from '../args';
import type { CountCheck, Task } from '../api-client';
import { Command } from '../command';
import { EXIT } from '../errors';
import { elapsedSeconds, formatCounts, formatDuration, formatEta, formatRate, formatUsage, table } from '../format';
import { TASK_STATUSES } from '../../task/task-status';
import { DEFAULT_INTERVAL_MS, followAndReport } from './follow-command';
import { INTERVAL_OPTION } from './submit';

const JSON_OPTION = { type: 'boolean', description: "Print the server's JSON instead" } as const;

export const status: Command = {
  name: 'status',
  args: ['ID'],
  summary: "A task's status and progress, once",
  options: { json: JSON_OPTION },
  async run({ client, args: [id], options, io }) {
    const task = await client.getTask(taskId(id));
    io.stdout.write(options.json ? `${JSON.stringify(task, null, 2)}\n` : `${describeTask(task)}\n`);
    return EXIT.ok;
  },
};

export const watch: Command = {
  name: 'watch',
  args: ['ID'],
  summary: 'Follow a task with a progress bar until it ends (exit code 0 only when it completes)',
  options: { interval: INTERVAL_OPTION },
  run: ({ client, args: [id], options, io }) =>
    followAndReport(client, taskId(id), intOption(options, 'interval', DEFAULT_INTERVAL_MS, { min: 10 }), io),
};

export const list: Command = {
  name: 'list',
  args: [],
  summary: 'Tasks, newest first, as a table',
  options: {
    status: { type: 'string', placeholder: 'S', description: `Only tasks in this status: ${TASK_STATUSES.join(', ')}` },
    limit: { type: 'string', placeholder: 'N', description: 'At most N tasks, 1 to 1000 (default 20)' },
    offset: { type: 'string', placeholder: 'N', description: 'Skip the N newest (default 0)' },
    after: { type: 'string', placeholder: 'ID', description: 'Only tasks older than task ID (the next page)' },
    json: JSON_OPTION,
  },
  async run({ client, options, io }) {
    const page = await client.listTasks({
      status: choiceOption(options, 'status', TASK_STATUSES),
      limit: intOption(options, 'limit', 20, { min: 1, max: 1000 }),
      offset: intOption(options, 'offset', 0, { min: 0 }),
      after: intOption(options, 'after', undefined, { min: 1 }),
    });
    if (options.json) {
      io.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
      return EXIT.ok;
    }
    if (page.items.length === 0) {
      io.stderr.write(page.total === 0 ? 'no tasks\n' : `no tasks at offset ${page.offset} (${page.total} in all)\n`);
      return EXIT.ok;
    }
    io.stdout.write(`${taskTable(page.items)}\n`);
    if (page.next) {
      const last = page.items[page.items.length - 1].id;
      io.stderr.write(`${page.items.length} of ${page.total} tasks; older ones: --after ${last}\n`);
    }
    return EXIT.ok;
  },
};

export const cancel: Command = {
  name: 'cancel',
  args: ['ID'],
  summary: 'Cancel a pending or running task: its chunks are no longer claimed',
  options: {},
  async run({ client, args: [id], io }) {
    const task = await client.cancelTask(taskId(id));
    io.stdout.write(`task ${task.id} cancelled: ${formatCounts(task)}\n`);
    return EXIT.ok;
  },
};

export const retry: Command = {
  name: 'retry',
  args: ['ID'],
  summary: "Put a task's failed chunks back to pending, their attempts reset; resumes a cancelled task",
  options: {
    follow: { type: 'boolean', description: 'Then follow the task to its end, like watch' },
    interval: INTERVAL_OPTION,
  },
  async run({ client, args: [id], options, io }) {
    const intervalMs = intOption(options, 'interval', DEFAULT_INTERVAL_MS, { min: 10 });
    const task = await client.retryTask(taskId(id));
    io.stdout.write(`task ${task.id} ${task.status}: failed chunks back to pending; ${formatCounts(task)}\n`);
    if (task.waiting) io.stderr.write(`warning: ${task.waiting}\n`);
    return options.follow ? followAndReport(client, task.id, intervalMs, io) : EXIT.ok;
  },
};

export const checkCounts: Command = {
  name: 'check-counts',
  args: [],
  summary: "Recount the tasks' chunks and compare with their counters (reads every chunk link checked)",
  details: 'Exit code 1 when some task drifted (0 after --repair set it right).',
  options: {
    task: { type: 'string', placeholder: 'ID', description: 'Check only this task (default: every task)' },
    repair: { type: 'boolean', description: 'Set the counters of the tasks that drifted to the recount' },
    json: JSON_OPTION,
  },
  async run({ client, options, io }) {
    const repair = Boolean(options.repair);
    const check = await client.checkCounts({ taskId: intOption(options, 'task', undefined, { min: 1 }), repair });
    const drifted = check.drifted.length + check.tallyDrifted.length;
    if (options.json) io.stdout.write(`${JSON.stringify(check, null, 2)}\n`);
    else if (drifted === 0) io.stdout.write(`${check.checked} tasks checked: every counter matches\n`);
    else io.stdout.write(`${driftTable(check)}\n`);
    if (drifted > 0) {
      const what = repair ? 'repaired' : 'run again with --repair to set them to the recount';
      io.stderr.write(
        `${check.drifted.length} of ${check.checked} tasks, ${check.tallyDrifted.length} closed-task totals differ from the chunks; ${what}\n`,
      );
    }
    return drifted === 0 || repair ? EXIT.ok : EXIT.error;
  },
};

function driftTable(check: CountCheck): string {
  const counts = (c: CountCheck['drifted'][number]['stored']) => `${c.pending}/${c.inProgress}/${c.done}/${c.failed}`;
  return table(
    ['TASK', 'STORED (pending/in progress/done/failed)', 'COUNTED'],
    [
      ...check.drifted.map((row) => [String(row.taskId), counts(row.stored), counts(row.counted)]),
      ...check.tallyDrifted.map((row) => [`all ${row.status}`, counts(row.stored), counts(row.counted)]),
    ],
  );
}

export function describeTask(task: Task): string {
  const { progress } = task;
  const lines = [
    `task ${task.id} "${task.name}"`,
    `  status     ${task.status} (${progress.percent}%)`,
    `  model      ${task.model}, priority ${task.priority}`,
    `  chunks     ${formatCounts(task)} (${progress.pending} pending, ${progress.inProgress} in progress)`,
  ];
  const usage = formatUsage(task);
  if (usage) lines.push(`  tokens     ${usage}`);
  if (task.waiting) lines.push(`  waiting    ${task.waiting}`);
  if (task.status === 'pending' || task.status === 'running') {
    const at = progress.estimatedCompletionAt ? ` (about ${progress.estimatedCompletionAt})` : '';
    lines.push(`  rate       ${formatRate(progress.chunksPerSecond)}, ${formatEta(task)}${at}`);
  }
  lines.push(`  created    ${task.createdAt}`);
  if (task.startedAt) lines.push(`  started    ${task.startedAt}`);
  const elapsed = elapsedSeconds(task);
  if (task.finishedAt)
    lines.push(`  finished   ${task.finishedAt}${elapsed === undefined ? '' : ` (${formatDuration(elapsed)})`}`);
  if (task.lastError) lines.push(`  last error ${task.lastError}`);
  return lines.join('\n');
}

function taskTable(tasks: Task[]): string {
  return table(
    ['ID', 'STATUS', 'PROGRESS', 'DONE', 'FAILED', 'TOTAL', 'MODEL', 'CREATED', 'NAME'],
    tasks.map((task) => [
      String(task.id),
      task.waiting ? `${task.status} (no worker)` : task.status,
      `${task.progress.percent}%`,
      String(task.progress.done),
      String(task.progress.failed),
      String(task.progress.total),
      task.model,
      task.createdAt.replace(/\.\d+Z$/, 'Z'),
      task.name,
    ]),
  );
}
