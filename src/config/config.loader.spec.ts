import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findProjectRoot, InvalidConfigError, loadConfig, peekLogSettings, readDefaults } from './config.loader';

describe('loadConfig', () => {
  it('takes every default from config/defaults.env', () => {
    const config = loadConfig({});
    expect(config.http).toEqual({
      host: '0.0.0.0',
      port: 3000,
      bodyLimit: '16mb',
      maxJsonValues: 2_000_000,
      apiKey: undefined,
    });
    expect(config.database).toMatchObject({ url: undefined, poolSize: 10, runMigrations: true, logging: false });
    expect(config.database.embedded.dataDir).toBe(join(process.cwd(), 'data', 'postgres'));
    expect(config.tasks.maxChunksPerRequest).toBe(10000);
  });

  it('lets environment variables override the defaults, with types converted', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_MIGRATIONS_RUN: 'false',
      API_KEY: 's3cret',
      LOG_LEVEL: 'debug',
    });
    expect(config.http.port).toBe(8080);
    expect(config.database.runMigrations).toBe(false);
    expect(config.http.apiKey).toBe('s3cret');
    expect(config.logLevel).toBe('debug');
  });

  it('reads the LISTEN connection apart from the pool: its own URL, or none to rely on polling', () => {
    expect(loadConfig({}).database.listenUrl).toBeUndefined();
    expect(loadConfig({}).sender.listen).toBe(true);
    const direct = 'postgres://app@postgres-direct:5432/db';
    const config = loadConfig({ DATABASE_URL: 'postgres://app@pgbouncer:6432/db', DATABASE_LISTEN_URL: direct });
    expect(config.database).toMatchObject({ url: 'postgres://app@pgbouncer:6432/db', listenUrl: direct });
    expect(loadConfig({ SENDER_LISTEN_ENABLED: 'false' }).sender.listen).toBe(false);
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ API_KEY: '', DATABASE_URL: '' }).database.url).toBeUndefined();
  });

  it.each([
    ['PORT', 'abc', 'PORT must be an integer between 1 and 65535 (got "abc")'],
    ['PORT', '70000', 'PORT must be an integer between 1 and 65535'],
    ['DATABASE_MIGRATIONS_RUN', 'yes', 'DATABASE_MIGRATIONS_RUN must be true or false'],
    ['DATABASE_URL', 'mysql://x', 'DATABASE_URL must be a postgres:// or postgresql:// URL'],
    ['DATABASE_LISTEN_URL', 'pgbouncer:6432', 'DATABASE_LISTEN_URL must be a postgres:// or postgresql:// URL'],
    ['SENDER_LISTEN_ENABLED', 'maybe', 'SENDER_LISTEN_ENABLED must be true or false'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of: error, warn, log, debug, verbose'],
    ['TASK_MAX_CHUNKS_PER_REQUEST', '0', 'TASK_MAX_CHUNKS_PER_REQUEST must be an integer >= 1'],
    ['HTTP_BODY_LIMIT', 'lots', 'HTTP_BODY_LIMIT must be a byte count or a size such as 50mb'],
  ])('refuses %s=%s naming the variable and what it accepts', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(InvalidConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('documents every setting of config/defaults.env in a table of the README or docs/', () => {
    const root = findProjectRoot();
    const docs = readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md'));
    const readme = ['README.md', ...docs.map((name) => join('docs', name))]
      .map((path) => readFileSync(join(root, path), 'utf8'))
      .join('\n');
    const missing = Object.keys(readDefaults()).filter((name) => !readme.includes(`| \`${name}\``));
    expect(missing).toEqual([]);
  });
});

describe('SENDER_MODE', () => {
  it('is local by default, without a remote', () => {
    expect(loadConfig({}).sender).toMatchObject({ mode: 'local', remoteUrl: undefined, remoteTimeoutMs: 120000 });
  });

  it('remote takes the URL, key and time limit of the embedding instance', () => {
    const env = {
      SENDER_MODE: 'remote',
      SENDER_REMOTE_URL: 'http://gpu-node:3000',
      SENDER_REMOTE_API_KEY: 'k',
      SENDER_REMOTE_TIMEOUT_MS: '5000',
    };
    expect(loadConfig(env).sender).toMatchObject({
      mode: 'remote',
      remoteUrl: 'http://gpu-node:3000',
      remoteApiKey: 'k',
      remoteTimeoutMs: 5000,
    });
  });

  it.each([{}, { SENDER_REMOTE_URL: '' }])('remote without SENDER_REMOTE_URL (%j) is refused, naming both', (env) => {
    const load = () => loadConfig({ SENDER_MODE: 'remote', ...env });
    expect(load).toThrow(InvalidConfigError);
    expect(load).toThrow(/SENDER_MODE=remote needs SENDER_REMOTE_URL/);
  });

  it('refuses an unknown mode and a remote URL that is not http(s)', () => {
    expect(() => loadConfig({ SENDER_MODE: 'cloud' })).toThrow('SENDER_MODE must be one of: local, remote');
    expect(() => loadConfig({ SENDER_MODE: 'remote', SENDER_REMOTE_URL: 'gpu-node:3000' })).toThrow(
      'SENDER_REMOTE_URL must be an http:// or https:// URL',
    );
  });
});

describe('EMBEDDING_PROVIDER=tei configuration', () => {
  it('has defaults for every TEI setting', () => {
    const config = loadConfig({ EMBEDDING_PROVIDER: 'tei', TEI_URL: 'http://gpu-node:8080' });
    expect(config.embedding.tei).toEqual({
      url: 'http://gpu-node:8080',
      apiKey: undefined,
      timeoutMs: 60000,
      maxConcurrency: 0,
      batchSize: 0,
      maxAttempts: 4,
      retryBaseMs: 200,
      startupWaitMs: 120000,
    });
  });

  it.each([{}, { TEI_URL: '' }])('tei without TEI_URL (%j) is refused, naming both', (env) => {
    const load = () => loadConfig({ EMBEDDING_PROVIDER: 'tei', ...env });
    expect(load).toThrow(InvalidConfigError);
    expect(load).toThrow(/EMBEDDING_PROVIDER=tei needs TEI_URL/);
  });

  it('takes at most one EMBEDDING_MODELS entry, a model id, not a folder', () => {
    const base = { EMBEDDING_PROVIDER: 'tei', TEI_URL: 'http://gpu-node:8080' };
    expect(loadConfig({ ...base, EMBEDDING_MODELS: 'BAAI/bge-small-en-v1.5' }).embedding.models).toEqual([
      { id: 'BAAI/bge-small-en-v1.5', hubId: 'BAAI/bge-small-en-v1.5', revision: undefined },
    ]);
    expect(() => loadConfig({ ...base, EMBEDDING_MODELS: 'a/b,c/d' })).toThrow(/names the one model/);
    expect(() => loadConfig({ ...base, EMBEDDING_MODELS: './models/x' })).toThrow(/not a folder/);
  });

  it('checks each setting', () => {
    const base = { EMBEDDING_PROVIDER: 'tei', TEI_URL: 'http://gpu-node:8080' };
    expect(() => loadConfig({ ...base, TEI_URL: 'gpu-node:8080' })).toThrow(
      'TEI_URL must be an http:// or https:// URL',
    );
    expect(() => loadConfig({ ...base, TEI_MAX_ATTEMPTS: '0' })).toThrow(
      'TEI_MAX_ATTEMPTS must be an integer between 1 and 100',
    );
    expect(() => loadConfig({ ...base, TEI_MAX_CONCURRENCY: '-1' })).toThrow(/TEI_MAX_CONCURRENCY/);
    expect(loadConfig({ ...base, TEI_API_KEY: 's3cret' }).embedding.tei.apiKey).toBe('s3cret');
  });

  it('leaves the ONNX provider alone', () => {
    expect(() => loadConfig({ EMBEDDING_PROVIDER: 'onnx' })).not.toThrow();
    expect(() => loadConfig({ EMBEDDING_PROVIDER: 'gpu' })).toThrow('EMBEDDING_PROVIDER must be one of: onnx, tei');
  });
});

describe('peekLogSettings', () => {
  it('reads LOG_FORMAT and LOG_LEVEL before the rest is checked, falling back to the defaults on a bad value', () => {
    expect(peekLogSettings({ LOG_FORMAT: 'pretty', LOG_LEVEL: 'debug', PORT: 'abc' })).toEqual({
      format: 'pretty',
      level: 'debug',
    });
    expect(peekLogSettings({ LOG_FORMAT: 'xml', LOG_LEVEL: 'loud' })).toEqual({ format: 'json', level: 'log' });
    expect(peekLogSettings({})).toEqual({ format: 'json', level: 'log' });
  });
});
