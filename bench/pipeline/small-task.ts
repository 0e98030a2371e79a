import { perRoundRatio } from '../lib/interleave';
import { median } from '../lib/stats';
import { formatNumber, renderTable } from '../lib/table';
import { checkTarget, TargetCheck } from '../lib/targets';
import { Contenders, PipelineRun, runPipeline } from './measure';

/** One task of the texts beside one HTTP call embedding the same texts, in the same round. */
export interface SmallTaskRound {
  task: PipelineRun;
  httpSeconds: number;
}

/** Where a task's time went, in seconds: the parts of its one batch's path from commit to finished_at. */
export interface TaskBreakdown {
  wake: number;
  claim: number;
  tokenize: number;
  inference: number;
  delivery: number;
  /** The rest: reuse lookup, cancel check, pooling, the event loop between steps. */
  other: number;
  /** After finished_at: the settle transaction's commit, which makes the finish visible. */
  settle: number;
  /** Claims that found nothing meanwhile (the sender refilling its window): off the path, but on the same cores. */
  emptyClaims: number;
}

export interface SmallTaskResult {
  model: string;
  chunks: number;
  rounds: SmallTaskRound[];
  taskSeconds: number;
  httpSeconds: number;
  /** Task seconds ÷ HTTP seconds, from the medians, and the median of each round's. */
  ratio: number;
  perRoundRatio: number;
  /** Median over rounds of each part. */
  breakdown: TaskBreakdown;
  targets: TargetCheck[];
}

/**
 * The same texts as one task (inserted by SQL, commit → finished_at on the database clock) and as one
 * `POST /v1/embeddings` (base64, what OpenAI's SDKs ask for: the leanest answer), taking turns round by round.
 */
export async function runSmallTaskRounds(
  contenders: Contenders,
  corpusOf: (round: number) => string[],
  rounds: number,
  log: (line: string) => void,
): Promise<SmallTaskRound[]> {
  const results: SmallTaskRound[] = [];
  for (let round = -1; round < rounds; round++) {
    const texts = corpusOf(round);
    let task: PipelineRun | undefined;
    let httpSeconds = 0;
    const runs = [
      async () => (task = await runPipeline(contenders, texts, `bench ${contenders.model} small ${round + 1}`)),
      async () => (httpSeconds = await embedOverHttp(contenders, texts)),
    ];
    for (const run of round % 2 === 0 ? runs : runs.reverse()) await run();
    if (round < 0) continue; // the warm-up round
    results.push({ task: task!, httpSeconds });
    log(
      `  small task ${round + 1}/${rounds}  ${texts.length} chunks: task ${task!.seconds.toFixed(3)} s, one HTTP call ` +
        `${httpSeconds.toFixed(3)} s (${(task!.seconds / httpSeconds).toFixed(3)}×)`,
    );
  }
  return results;
}

async function embedOverHttp({ baseUrl, model }: Contenders, texts: string[]): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/v1/embeddings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, input: texts, encoding_format: 'base64' }),
  });
  const body = (await response.json()) as { data?: unknown[] };
  if (!response.ok || body.data?.length !== texts.length) {
    throw new Error(`POST /v1/embeddings: ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
  }
  return (performance.now() - started) / 1000;
}

/** `maxRatio`: the task may take at most this many times the HTTP call (undefined: reported, not held to one). */
export function summariseSmallTask(model: string, rounds: SmallTaskRound[], maxRatio?: number): SmallTaskResult {
  const taskRuns = rounds.map((round) => round.task.seconds);
  const httpRuns = rounds.map((round) => round.httpSeconds);
  const [taskSeconds, httpSeconds] = [median(taskRuns), median(httpRuns)];
  const ratio = taskSeconds / httpSeconds;
  const perRound = 1 / perRoundRatio(taskRuns, httpRuns);
  const targets =
    maxRatio === undefined
      ? []
      : [
          // Held as HTTP ÷ task ≥ 1 / maxRatio, so every target of the benchmarks reads "at least".
          checkTarget(
            `${model}: a ${rounds[0].task.chunks}-chunk task within ${maxRatio}× one HTTP call`,
            `${model} one HTTP call s / ${rounds[0].task.chunks}-chunk task s (commit → finished_at)`,
            1 / ratio,
            Math.round((1 / maxRatio) * 1000) / 1000,
            Math.min(...httpRuns) / Math.min(...taskRuns),
            1 / perRound,
          ),
        ];
  const breakdown = medianBreakdown(rounds.map((round) => breakdownOf(round.task)));
  return {
    model,
    chunks: rounds[0].task.chunks,
    rounds,
    taskSeconds,
    httpSeconds,
    ratio,
    perRoundRatio: perRound,
    breakdown,
    targets,
  };
}

function breakdownOf(run: PipelineRun): TaskBreakdown {
  const stage = (name: string) => run.stages[name]?.seconds ?? 0;
  const path = {
    wake: run.wakeSeconds,
    claim: stage('claim'),
    tokenize: stage('tokenize'),
    inference: stage('inference'),
    delivery: stage('delivery'),
  };
  const onPath = Object.values(path).reduce((total, seconds) => total + seconds, 0);
  return { ...path, other: run.seconds - onPath, settle: stage('settle'), emptyClaims: stage('claim_empty') };
}

function medianBreakdown(parts: TaskBreakdown[]): TaskBreakdown {
  const keys = Object.keys(parts[0]) as Array<keyof TaskBreakdown>;
  return Object.fromEntries(
    keys.map((key) => [key, median(parts.map((part) => part[key]))]),
  ) as unknown as TaskBreakdown;
}

export function smallTaskSection(result: SmallTaskResult): string[] {
  const runs = (values: number[]) => values.map((value) => value.toFixed(3)).join(' ');
  const { breakdown, taskSeconds } = result;
  const share = (seconds: number) => `${formatNumber((seconds / taskSeconds) * 100, 1)} %`;
  const ms = (seconds: number) => formatNumber(seconds * 1000, 1);
  const partRows: Array<[string, number, boolean]> = [
    ['wake-up (commit → claim starts: NOTIFY, LISTEN, wake)', breakdown.wake, true],
    ['claim (the one statement that took the links)', breakdown.claim, true],
    ['tokenize', breakdown.tokenize, true],
    ['inference', breakdown.inference, true],
    ['delivery (in-process receiver: validate, upsert)', breakdown.delivery, true],
    ['other (reuse lookup, cancel check, pooling, event loop)', breakdown.other, true],
    ['after finished_at: settle transaction (commit)', breakdown.settle, false],
    ['meanwhile: claims that found nothing', breakdown.emptyClaims, false],
  ];
  return [
    '',
    `${result.model}: one ${result.chunks}-chunk task beside one HTTP call embedding the same texts ` +
      `(${result.rounds.length} rounds, taking turns)`,
    renderTable(
      ['contender', 'median s', 'runs s'],
      [
        [
          'task (SQL insert, commit → finished_at)',
          formatNumber(taskSeconds, 3),
          runs(result.rounds.map((r) => r.task.seconds)),
        ],
        [
          'one POST /v1/embeddings (base64)',
          formatNumber(result.httpSeconds, 3),
          runs(result.rounds.map((r) => r.httpSeconds)),
        ],
      ],
    ),
    `task / HTTP call: ${result.ratio.toFixed(3)} (per round ${result.perRoundRatio.toFixed(3)})`,
    'Where the task’s time goes (median per part over the rounds; the parts on its path add up to its time):',
    renderTable(
      ['part', 'ms', 'of the task'],
      partRows.map(([name, seconds, onPath]) => [name, ms(seconds), onPath ? share(seconds) : '']),
    ),
  ];
}
