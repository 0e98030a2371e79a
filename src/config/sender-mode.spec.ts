import { InvalidConfigError, loadConfig } from './config.loader';

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
