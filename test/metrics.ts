/** One scrape of GET /metrics, parsed: sample values by name and labels, and the metric family names. */
export class Scrape {
  readonly families = new Set<string>();
  private readonly samples = new Map<string, number>();

  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      const type = /^# TYPE (\S+) /.exec(line);
      if (type) this.families.add(type[1]);
      const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (sample) this.samples.set(key(sample[1], parseLabels(sample[2] ?? '')), Number(sample[3]));
    }
  }

  /** A sample's value; undefined when the series does not exist. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    return this.samples.get(key(name, labels));
  }

  /** Every series of a name, with its labels. */
  series(name: string): { labels: Record<string, string>; value: number }[] {
    return [...this.samples]
      .filter(([sample]) => sample === name || sample.startsWith(`${name}{`))
      .map(([sample, value]) => ({ labels: parseLabels(sample.slice(name.length + 1, -1)), value }));
  }
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const match of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[match[1]] = match[2];
  return labels;
}

function key(name: string, labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((label) => `${label}="${labels[label]}"`);
  return sorted.length === 0 ? name : `${name}{${sorted.join(',')}}`;
}
