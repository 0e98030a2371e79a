import { sleep } from '../../common/backoff';
import { intOption, optionalString } from '../args';
import type { SearchAnswer, SearchIndexList, SearchRequest } from '../api-client';
import { Command, OptionValues } from '../command';
import { EXIT, UsageError } from '../errors';
import { table } from '../format';

const JSON_OPTION = { type: 'boolean', description: "Print the server's JSON instead" } as const;

export const search: Command = {
  name: 'search',
  args: ['QUERY'],
  summary: 'The chunks whose stored vectors are nearest to QUERY (POST /search), best first',
  details: [
    'QUERY is embedded with the model (default: the first the server serves) and compared with the stored vectors by',
    "cosine similarity: exactly on any PostgreSQL, or through the model's pgvector index (the answer says which).",
  ].join('\n'),
  options: {
    model: {
      type: 'string',
      placeholder: 'MODEL',
      description: 'Whose stored vectors (default: the first served model)',
    },
    k: { type: 'string', placeholder: 'N', description: 'How many results, 1 to 1000 (default 10)' },
    task: { type: 'string', placeholder: 'ID', description: "Only this task's chunks" },
    filter: {
      type: 'string',
      placeholder: 'JSON',
      description: 'Only chunks whose metadata contains this JSON object',
    },
    'prompt-name': { type: 'string', placeholder: 'NAME', description: 'A prompt of the model for QUERY, e.g. query' },
    'no-text': { type: 'boolean', description: 'Leave out the text' },
    'no-metadata': { type: 'boolean', description: 'Leave out the metadata' },
    json: JSON_OPTION,
  },
  async run({ client, args: [query], options, io }) {
    const answer = await client.search(searchRequest(query, options));
    if (options.json) {
      io.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
      return EXIT.ok;
    }
    const how = answer.exact ? 'exact' : "approximate (pgvector's index)";
    io.stderr.write(`${answer.results.length} results from model ${answer.model}, ${how}\n`);
    if (answer.results.length > 0) io.stdout.write(`${resultTable(answer)}\n`);
    return EXIT.ok;
  },
};

export const searchIndex: Command = {
  name: 'search-index',
  args: [],
  summary: "The models' pgvector search indexes; with --model, build that model's now and wait for it",
  details: 'Builds run on the server, CONCURRENTLY: storing and searching go on meanwhile; Ctrl-C stops waiting only.',
  options: {
    model: { type: 'string', placeholder: 'MODEL', description: "Build this model's index" },
    'no-wait': { type: 'boolean', description: 'Do not wait for the build to finish' },
    interval: { type: 'string', placeholder: 'MS', description: 'How often to look while waiting (default 1000)' },
    json: JSON_OPTION,
  },
  async run({ client, options, io }) {
    const model = optionalString(options, 'model');
    const intervalMs = intOption(options, 'interval', 1000, { min: 10 });
    if (model) {
      let state = (await client.buildSearchIndex(model)).state;
      while (state === 'building' && !options['no-wait']) {
        await sleep(intervalMs);
        state = (await client.listSearchIndexes()).items.find((item) => item.model === model)?.state ?? 'none';
      }
      io.stderr.write(`search index of model ${model}: ${state}\n`);
    }
    const list = await client.listSearchIndexes();
    io.stdout.write(options.json ? `${JSON.stringify(list, null, 2)}\n` : `${indexTable(list)}\n`);
    return EXIT.ok;
  },
};

function searchRequest(query: string, options: OptionValues): SearchRequest {
  return {
    query,
    model: optionalString(options, 'model'),
    k: intOption(options, 'k', undefined, { min: 1, max: 1000 }),
    taskId: intOption(options, 'task', undefined, { min: 1 }),
    filter: filterOption(optionalString(options, 'filter')),
    prompt_name: optionalString(options, 'prompt-name'),
    text: !options['no-text'],
    metadata: !options['no-metadata'],
  };
}

function filterOption(raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new UsageError(`--filter must be a JSON object, e.g. '{"page": 2}'; got ${raw}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`--filter must be a JSON object, e.g. '{"page": 2}'; got ${raw}`);
  }
  return value as Record<string, unknown>;
}

const oneLine = (text: string, width: number) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
};

function resultTable(answer: SearchAnswer): string {
  return table(
    ['SCORE', 'CHUNK', 'TEXT', 'METADATA'],
    answer.results.map((result) => [
      result.score.toFixed(4),
      String(result.chunkId),
      result.text === undefined ? '' : oneLine(result.text, 60),
      result.metadata === undefined ? '' : oneLine(JSON.stringify(result.metadata), 40),
    ]),
  );
}

function indexTable(list: SearchIndexList): string {
  const header = list.pgvector ? 'searches use pgvector' : 'searches are exact (pgvector not in use)';
  if (list.items.length === 0) return `${header}; no stored vectors yet`;
  const rows = list.items.map((item) => [item.model, String(item.dimensions), item.state, item.index ?? '']);
  return `${header}\n${table(['MODEL', 'DIMENSIONS', 'INDEX', 'NAME'], rows)}`;
}
