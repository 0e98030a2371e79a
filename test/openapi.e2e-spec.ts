import { API_TAGS, EXAMPLE_MODEL } from '../src/app.swagger';
import { startTestApp, startTinyModelApp, TestApp } from './app';

interface Operation {
  tags?: string[];
  security?: object[];
  responses: Record<string, unknown>;
  requestBody?: { content: Record<string, { example?: unknown; examples?: Record<string, { value: object }> }> };
}
interface Document {
  tags: { name: string }[];
  security: object[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: object; securitySchemes: Record<string, object> };
}

describe('OpenAPI document (e2e)', () => {
  const KEY = 'openapi-test-key';
  let t: TestApp;
  let doc: Document;
  let operations: { route: string; path: string; method: string; operation: Operation }[];

  beforeAll(async () => {
    t = await startTestApp({ API_KEY: KEY });
    doc = (await t.http().get('/apidocs-json').expect(200)).body;
    operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({
        route: `${method.toUpperCase()} ${path}`,
        path,
        method,
        operation,
      })),
    );
  });
  afterAll(() => t.close());

  it('serves Swagger UI at /apidocs, and where TEI serves it, /docs with /api-doc/openapi.json', async () => {
    const res = await t.http().get('/apidocs/').expect(200);
    expect(res.text).toContain('swagger-ui');
    expect((await t.http().get('/docs/').expect(200)).text).toContain('swagger-ui');
    expect((await t.http().get('/api-doc/openapi.json').expect(200)).body).toEqual(doc);
  });

  it('describes every task and chunk endpoint', () => {
    expect(Object.keys(doc.paths).sort()).toEqual(
      expect.arrayContaining([
        '/tasks',
        '/tasks/{id}',
        '/tasks/{id}/chunks',
        '/tasks/{id}/cancel',
        '/tasks/{id}/retry',
        '/chunks/{id}',
        '/chunks/{id}/embedding',
        '/health/live',
        '/health/ready',
      ]),
    );
  });

  it('describes the error responses of each endpoint with the error body', () => {
    const create = doc.paths['/tasks'].post.responses;
    expect(Object.keys(create)).toEqual(expect.arrayContaining(['201', '400', '401', '413']));
    expect(Object.keys(doc.paths['/tasks/{id}/cancel'].post.responses)).toEqual(
      expect.arrayContaining(['200', '400', '401', '404', '409']),
    );
    expect(doc.components.schemas).toHaveProperty('ErrorResponseDto');
    expect(doc.components.schemas).toHaveProperty('CreateTaskDto');
    expect(doc.components.schemas).toHaveProperty('TaskProgressDto');
  });

  it('documents 503 with Retry-After on every task, chunk and receiver route (they need the database)', () => {
    const needDatabase = operations.filter(({ path }) => /^\/(tasks|chunks|receiver)\b/.test(path));
    expect(needDatabase.length).toBeGreaterThan(10);
    for (const { route, operation } of needDatabase) {
      expect({ route, response: operation.responses['503'] }).toEqual({
        route,
        response: expect.objectContaining({ headers: { 'Retry-After': expect.any(Object) } }),
      });
    }
  });

  it('lists the tags in reading order and files every route under exactly one of them', () => {
    expect(doc.tags.map(({ name }) => name)).toEqual([
      'tasks',
      'chunks',
      'embeddings',
      'openai',
      'tei',
      'receiver',
      'search',
      'health',
      'metrics',
    ]);
    const names = API_TAGS.map(([name]) => name);
    const misfiled = operations.filter(
      ({ operation }) => operation.tags?.length !== 1 || !names.includes(operation.tags[0]),
    );
    expect(misfiled.map(({ route, operation }) => `${route} ${operation.tags?.join(',')}`)).toEqual([]);
    expect(doc.paths['/chunks/{id}/embedding'].get.tags).toEqual(['chunks']);
  });

  it('declares the key as a plain bearer token or an x-api-key header, not a JWT', () => {
    expect(doc.components.securitySchemes).toEqual({
      bearer: { type: 'http', scheme: 'bearer', description: expect.any(String) },
      'x-api-key': { type: 'apiKey', in: 'header', name: 'x-api-key' },
    });
  });

  it('shows the key (a lock, a 401) exactly on the routes that answer 401 without it', async () => {
    expect(doc.security).toEqual([{ bearer: [] }, { 'x-api-key': [] }]);
    const locked = (operation: Operation) => operation.security?.length !== 0;
    for (const { operation } of operations) expect(locked(operation)).toBe('401' in operation.responses);

    const answers = await Promise.all(
      operations.map(async ({ route, path, method, operation }) => {
        const request = t.http();
        const res = await request[method as 'get'](path.replace(/\{\w+\}/g, '1')).send();
        return { route, locked: locked(operation), unauthorized: res.status === 401 };
      }),
    );
    expect(answers.filter((answer) => answer.locked !== answer.unauthorized)).toEqual([]);
    expect(
      answers
        .filter((answer) => !answer.locked)
        .map(({ route }) => route)
        .sort(),
    ).toEqual(['GET /', 'GET /health', 'GET /health/live', 'GET /health/ready', 'GET /metrics', 'GET /ping'].sort());
  });

  it('gives every request body an example', () => {
    const bodies = operations.filter(({ operation }) => operation.requestBody);
    const missing = bodies.filter(({ operation }) => {
      const json = operation.requestBody!.content['application/json'];
      return json?.example === undefined && Object.keys(json?.examples ?? {}).length === 0;
    });
    expect(missing.map(({ route }) => route)).toEqual([]);
  });

  it('has request examples that work, in order, on a fresh database', async () => {
    const examples = (route: string) => {
      const { path, operation } = operations.find((candidate) => candidate.route === route)!;
      const values = Object.values(operation.requestBody!.content['application/json'].examples!).map(
        ({ value }) => value,
      );
      return values.map((value) => ({ path: path.replace('{id}', '1'), value }));
    };
    const sent = ['POST /tasks', 'POST /tasks/{id}/chunks', 'POST /receiver/embeddings'].flatMap(examples);
    expect(sent.length).toBeGreaterThanOrEqual(4);
    for (const { path, value } of sent) {
      const res = await t.http().post(path).set('x-api-key', KEY).send(value);
      const status = path === '/tasks' ? 201 : 200;
      // The body is shown only when the status is wrong, to name what the service refused.
      expect({ path, status: res.status, body: res.status === status ? 'ok' : res.body }).toEqual({
        path,
        status,
        body: 'ok',
      });
    }
  });
});

describe('OpenAPI examples on an instance serving another model (e2e)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTinyModelApp({ SENDER_ENABLED: 'false' });
  });
  afterAll(() => t.close());

  it('name the served model, never the README model this instance does not serve', async () => {
    const text = (await t.http().get('/apidocs-json').expect(200)).text;
    expect(text).not.toContain(JSON.stringify(EXAMPLE_MODEL));
    const doc = JSON.parse(text) as Document;
    const create = doc.paths['/tasks'].post.requestBody!.content['application/json'].examples!;
    const body = Object.values(create)[0].value as { model: string };
    expect(body.model).toBe('tiny');
    await t.http().post('/tasks').send(body).expect(201);
  });
});
