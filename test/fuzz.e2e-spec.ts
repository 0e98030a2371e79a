import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { startTinyModelApp, TestApp } from './app';
import { Components, fromSchema, hostileValue, mutated, Schema } from './fuzz/schema-arbitrary';
import { rowCounts } from './row-counts';

/**
 * Property-based fuzzing of every operation in the OpenAPI document: bodies, path parameters and queries derived from
 * each operation's schema and examples, mixed with hostile values (NUL, lone surrogates, huge numbers, deep nesting,
 * wrong types, unknown fields, bytes that are not UTF-8). No answer may be a 5xx, and a refused request (4xx) must
 * leave every table's row count as it was. Runs are bounded for CI (FUZZ_RUNS per operation, default 40); a failure
 * prints fast-check's seed and path, which FUZZ_SEED replays.
 */
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  schema?: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema?: Schema; examples?: Record<string, { value: unknown }> }> };
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Components };
}

const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/** Path and query values as they appear in a URL (already encoded): ids that exist, and ones no id may be. */
const hostileUrlValue = fc.constantFrom(
  '0',
  '-1',
  '0x10',
  '1e3',
  '1.0',
  '01',
  '%201',
  '%20',
  '%00',
  '%ED%A0%80',
  '%FF',
  '9007199254740992',
  '9223372036854775807',
  '9223372036854775808',
  '99999999999999999999999',
  'abc',
  'true',
  '',
  '%2F',
);

/** Raw bodies that are not a JSON document of the expected kind. */
const hostileRawBody = fc.constantFrom<string | Buffer>(
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
  Buffer.from('{"text":"\xed\xa0\x80"}', 'latin1'),
  `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
  '{"text":"a\\ud800"}',
  'not json',
  '{"a":1',
  'null',
  '"text"',
  '[]',
  '12',
);

function urlValue(value: unknown): string {
  try {
    return encodeURIComponent(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));
  } catch {
    return '%ED%A0%80'; // a lone surrogate cannot be encoded as UTF-8; send its CESU-8 bytes instead
  }
}

describe('Fuzzing every operation (e2e)', () => {
  let t: TestApp;
  let sql: DataSource;
  let doc: Document;

  beforeAll(async () => {
    t = await startTinyModelApp({ SENDER_ENABLED: 'false' });
    sql = t.app.get(DataSource);
    doc = (await t.http().get('/apidocs-json').expect(200)).body;
    // Rows for valid ids to find: tasks 1 and 2 with chunks 1 to 4.
    for (const name of ['a', 'b']) {
      await t
        .http()
        .post('/tasks')
        .send({ name, model: 'tiny', chunks: [{ text: `${name}1` }, { text: `${name}2` }] })
        .expect(201);
    }
  });
  afterAll(() => t.close());

  function requestArbitrary(path: string, operation: Operation) {
    const parameters = operation.parameters ?? [];
    const pathParams = parameters.filter((p) => p.in === 'path');
    const queryParams = parameters.filter((p) => p.in === 'query');
    const schema = fc.oneof(
      ...[fc.integer({ min: 1, max: 6 }).map(String), fc.constantFrom('tiny', 'nope'), hostileUrlValue].map((a) => a),
    );
    const pathValues = fc.tuple(...pathParams.map(() => schema));
    const query = fc.tuple(
      ...queryParams.map((param) =>
        fc.option(fc.oneof(fromSchema(param.schema ?? {}, doc.components.schemas).map(urlValue), hostileUrlValue), {
          freq: 3,
        }),
      ),
    );
    const json = operation.requestBody?.content['application/json'];
    // The examples name the README's model; this app serves the tiny one.
    const examples = Object.values(json?.examples ?? {}).map(({ value }) =>
      JSON.parse(JSON.stringify(value).replaceAll('sentence-transformers/all-MiniLM-L6-v2', 'tiny')),
    );
    const body = json
      ? fc.oneof(
          fromSchema(json.schema ?? {}, doc.components.schemas).map((value) => JSON.stringify(value)),
          ...(examples.length
            ? [
                fc.constantFrom(...examples).map((value) => JSON.stringify(value)),
                mutated(examples).map((v) => JSON.stringify(v)),
              ]
            : []),
          hostileValue.map((value) => JSON.stringify(value) ?? 'null'),
          hostileRawBody,
        )
      : fc.constant(undefined);
    return fc.record({ pathValues, query, body }).map(({ pathValues, query, body }) => {
      let url = path;
      pathParams.forEach((param, i) => (url = url.replace(`{${param.name}}`, pathValues[i])));
      const search = queryParams
        .map((param, i) => (query[i] === null ? undefined : `${param.name}=${query[i]}`))
        .filter(Boolean)
        .join('&');
      return { url: search ? `${url}?${search}` : url, body };
    });
  }

  async function send(method: string, url: string, body: string | Buffer | undefined) {
    const req = t.http()[method as 'post'](url);
    if (body === undefined) return req;
    return req
      .set('content-type', 'application/json')
      .serialize((raw) => raw)
      .send(body);
  }

  it('declares every path parameter once, ids as integers from 1 to 2^53 − 1', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      for (const [method, operation] of Object.entries(item)) {
        const declared = (operation.parameters ?? []).filter((p) => p.in === 'path');
        expect({ route: `${method} ${path}`, params: declared.map((p) => p.name) }).toEqual({
          route: `${method} ${path}`,
          params: names,
        });
        const ids = declared.filter((p) => p.name === 'id' && !path.startsWith('/v1/'));
        for (const id of ids)
          expect(id.schema).toEqual({ type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
      }
    }
  });

  it('answers every generated request without a 5xx, and writes nothing when it refuses one', async () => {
    const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({ path, method, operation })),
    );
    expect(operations.length).toBeGreaterThan(30);
    const statuses = new Map<number, number>();
    for (const { path, method, operation } of operations) {
      const property = fc.asyncProperty(requestArbitrary(path, operation), async ({ url, body }) => {
        const before = await rowCounts(sql);
        const res = await send(method, url, body);
        const seen = `${method.toUpperCase()} ${url.slice(0, 200)} answered ${res.status}`;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        // TEI's 424 Backend is how the TEI routes answer an unexpected error: only its two documented uses pass.
        const fault = res.status >= 500 || (res.status === 424 && !/^\/embed_(sparse|all)$/.test(path));
        if (fault) throw new Error(`${seen}: ${JSON.stringify(res.body).slice(0, 500)}`);
        if (res.status >= 400) expect({ seen, rows: await rowCounts(sql) }).toEqual({ seen, rows: before });
      });
      await fc.assert(property, { numRuns: RUNS, seed: SEED, endOnFailure: true });
    }
    // Valid requests get through too (not everything is refused), or the fuzzing would test validation alone.
    const count = (from: number, to: number) =>
      [...statuses].filter(([s]) => s >= from && s < to).reduce((n, [, c]) => n + c, 0);
    console.log(`fuzzed ${operations.length} operations: ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(count(200, 300)).toBeGreaterThan(operations.length);
    expect(statuses.get(201)).toBeGreaterThan(0);
    expect(count(400, 500)).toBeGreaterThan(operations.length * 5);
  }, Math.max(60_000, RUNS * 2_500)); // about 1.5 s per run of all operations here; longer runs get their time
});
