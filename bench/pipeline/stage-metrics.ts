/** The app's stage histogram (README, Metrics): seconds summed per stage, and how many observations. */
export type StageTotals = Record<string, { seconds: number; count: number }>;

const FAMILY = 'embedding_tasks_stage_duration_seconds';

/** One scrape of GET /metrics, reduced to the stage histogram's sums and counts. */
export async function scrapeStages(baseUrl: string): Promise<StageTotals> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics: ${response.status}`);
  const totals: StageTotals = {};
  for (const line of (await response.text()).split('\n')) {
    const match = new RegExp(`^${FAMILY}_(sum|count)\\{stage="(\\w+)"\\} (\\S+)$`).exec(line);
    if (!match) continue;
    const [, kind, stage, value] = match;
    totals[stage] ??= { seconds: 0, count: 0 };
    totals[stage][kind === 'sum' ? 'seconds' : 'count'] = Number(value);
  }
  return totals;
}

/** What happened between two scrapes. */
export function stagesBetween(before: StageTotals, after: StageTotals): StageTotals {
  return Object.fromEntries(
    Object.entries(after).map(([stage, { seconds, count }]) => [
      stage,
      { seconds: seconds - (before[stage]?.seconds ?? 0), count: count - (before[stage]?.count ?? 0) },
    ]),
  );
}
