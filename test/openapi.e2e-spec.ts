import { startTestApp, TestApp } from './app';

describe('OpenAPI document (e2e)', () => {
  let t: TestApp;
  let doc: {
    paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    components: { schemas: object };
  };

  beforeAll(async () => {
    t = await startTestApp();
    doc = (await t.http().get('/apidocs-json').expect(200)).body;
  });
  afterAll(() => t.close());

  it('serves Swagger UI at /apidocs', async () => {
    const res = await t.http().get('/apidocs/').expect(200);
    expect(res.text).toContain('swagger-ui');
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
});
