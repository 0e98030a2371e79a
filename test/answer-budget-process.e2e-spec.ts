import { ensureModel } from './fixtures/model/make-model';
import { createTestDatabase, TestDatabase } from './database';
import { ServiceProcess, startService } from './processes';

// The attacks of issue 20 on the answers, against the real service in a process of its own with a 512 MB heap:
// it must stay alive and answering. No timing is asserted here (npm run bench -- hostile measures that).

/** 100 one-piece words: each input is cut to the tiny model's 64 tokens. */
const LONG_TEXT = Array.from({ length: 100 }, () => 'a').join(' ');
/** 1,150 inputs x 64 token vectors x 32 numbers: sized at about 61 MB, just under the default 64 MB limit. */
const NEAR_LIMIT = Array.from({ length: 1150 }, (_, index) => `${LONG_TEXT} ${index}`);

describe('answer budgets in a process with --max-old-space-size=512 (e2e)', () => {
  let db: TestDatabase;
  let service: ServiceProcess;
  const post = (path: string, body: unknown) =>
    fetch(`${service.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    db = await createTestDatabase();
    service = await startService({
      DATABASE_URL: db.url,
      EMBEDDING_MODELS: `tiny=${await ensureModel('tiny')}`,
      SENDER_ENABLED: 'false',
      NODE_OPTIONS: '--max-old-space-size=512',
    });
  }, 120_000);
  afterAll(async () => {
    service?.child.kill('SIGTERM');
    await service?.exited;
    await db?.drop();
  });

  async function expectAliveAndAnswering(): Promise<void> {
    expect(service.child.exitCode).toBeNull();
    expect((await fetch(`${service.url}/health/live`)).status).toBe(200);
    const res = await post('/embed', { inputs: ['still here'] });
    expect(res.status).toBe(200);
    expect(((await res.json()) as number[][])[0]).toHaveLength(32);
  }

  it('answers 8 concurrent /embed_all near the limit in full or with 429 Overloaded, and stays alive', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const res = await post('/embed_all', { inputs: NEAR_LIMIT });
        const body: unknown = await res.json();
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body };
      }),
    );
    const served = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status !== 200);
    expect(served.length).toBeGreaterThan(0);
    served.forEach(({ body }) => {
      expect(body).toHaveLength(NEAR_LIMIT.length);
      expect((body as number[][][])[1149]).toHaveLength(64);
    });
    // Half the 560 MB heap is the budget: four such answers at most are in flight at once.
    expect(refused.length).toBeGreaterThanOrEqual(8 - 4);
    refused.forEach((answer) =>
      expect(answer).toEqual({
        status: 429,
        retryAfter: '1',
        body: { error: expect.stringMatching(/HTTP_MEMORY_BUDGET/), error_type: 'Overloaded' },
      }),
    );
    await expectAliveAndAnswering();
  }, 300_000);

  it("refuses issue 20's /tokenize of 2,048 inputs of 7.8K characters, twice at once, naming the limit", async () => {
    const inputs = Array.from({ length: 2048 }, () => 'hello world '.repeat(650));
    const answers = await Promise.all([0, 1].map(async () => post('/tokenize', { inputs })));
    for (const res of answers) {
      expect(res.status).toBe(422);
      expect(await res.json()).toEqual({
        error: expect.stringMatching(/over HTTP_RESPONSE_LIMIT \(64\.0 MB\)/),
        error_type: 'Validation',
      });
    }
    await expectAliveAndAnswering();
  }, 120_000);
});
