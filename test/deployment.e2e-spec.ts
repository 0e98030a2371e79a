import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { findProjectRoot, readDefaults } from '../src/config/config.loader';
import { startTestApp } from './app';

/** The compose file and the Dockerfiles name ports, variables, paths and commands; each must exist in the service. */
const root = findProjectRoot();
const read = (file: string) => readFileSync(join(root, file), 'utf8');
const settings = new Set(Object.keys(readDefaults()));

interface ComposeService {
  build?: { dockerfile: string };
  environment?: Record<string, string | number>;
  ports?: string[];
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
const ourServices = Object.entries(compose.services).filter(([, service]) => service.build);
const dockerfiles = ['docker/Dockerfile', 'docker/Dockerfile.cuda'];

describe('docker-compose.yml and the Dockerfiles', () => {
  it('builds the service from a Dockerfile that exists, in the default and the tei profile', () => {
    expect(ourServices.map(([name]) => name).sort()).toEqual(['api', 'embedding-tasks-tei', 'worker']);
    for (const [, service] of ourServices) expect(existsSync(join(root, service.build!.dockerfile))).toBe(true);
    expect(compose.services.tei.profiles).toEqual(['tei']);
  });

  it('sets only variables the service reads, and maps the container port the service listens on', () => {
    for (const [name, service] of ourServices) {
      const unknown = Object.keys(service.environment ?? {}).filter((key) => !settings.has(key));
      expect({ name, unknown }).toEqual({ name, unknown: [] });
      if (name === 'worker') continue;
      const port = String(service.environment?.PORT ?? readDefaults().PORT);
      expect(service.ports?.map((mapping) => mapping.split(':')[1])).toEqual([port]);
    }
  });

  it('splits the roles: the api serves and migrates, workers claim and publish no port (--scale worker=3)', () => {
    const { api, worker } = compose.services;
    expect(api.environment).toMatchObject({ SENDER_ENABLED: 'false', DATABASE_MIGRATIONS_RUN: 'true' });
    expect(worker.environment).toMatchObject({ SENDER_ENABLED: 'true', DATABASE_MIGRATIONS_RUN: 'false' });
    expect(worker.ports).toBeUndefined();
    expect(api.environment!.EMBEDDING_MODELS).toBe(worker.environment!.EMBEDDING_MODELS);
    // Only the api migrates; everyone else starts once it is healthy, so nobody races it over the schema.
    for (const [name, service] of ourServices.filter(([name]) => name !== 'api')) {
      expect({ name, migrates: service.environment?.DATABASE_MIGRATIONS_RUN }).toEqual({ name, migrates: 'false' });
      expect(service.depends_on?.api).toEqual({ condition: 'service_healthy' });
    }
  });

  it('points the tei profile at the tei container through the TEI provider', () => {
    const env = compose.services['embedding-tasks-tei'].environment!;
    expect(env.EMBEDDING_PROVIDER).toBe('tei');
    expect(String(env.TEI_URL)).toMatch(/^http:\/\/tei:80\/?$/);
  });

  it.each(dockerfiles)('%s copies files that exist and runs the built entry point of src/main.ts', (file) => {
    const text = read(file);
    const copied = [...text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((match) => match[1].split(/\s+/));
    expect(copied.filter((path) => !existsSync(join(root, path)))).toEqual([]);
    expect(text).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
    expect(existsSync(join(root, 'src/main.ts'))).toBe(true);
    // Numeric, so Kubernetes can check runAsNonRoot (deploy/kubernetes sets the same ids).
    expect(text).toMatch(/^USER [1-9]\d*:[1-9]\d*$/m);
    // On the container's PORT (test/docker runs the CPU image with another one and waits for `healthy`).
    expect(text).toContain('fetch(`http://127.0.0.1:${process.env.PORT || 3000}/health/live`)');
    const scripts = [...text.matchAll(/npm run ([\w:-]+)/g)].map((match) => match[1]);
    const known = Object.keys(JSON.parse(read('package.json')).scripts);
    expect(scripts.filter((script) => !known.includes(script))).toEqual([]);
  });

  it('the healthcheck path the images probe answers 200', async () => {
    const t = await startTestApp({ SENDER_ENABLED: 'false' });
    await t.http().get('/health/live').expect(200);
    await t.close();
  });
});
