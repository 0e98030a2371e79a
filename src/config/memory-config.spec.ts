import { getHeapStatistics } from 'node:v8';
import { loadConfig, parseSize } from './config.loader';

describe('memory budget settings', () => {
  it('defaults to a 64 MB answer limit and half of V8 heap limit for the process', () => {
    const { memory } = loadConfig({});
    expect(memory.responseLimitBytes).toBe(64 * 1024 * 1024);
    expect(memory.budgetBytes).toBe(Math.floor(getHeapStatistics().heap_size_limit / 2));
  });

  it('takes byte counts and sizes', () => {
    const { memory } = loadConfig({ HTTP_RESPONSE_LIMIT: '1500', HTTP_MEMORY_BUDGET: '2GB' });
    expect(memory).toEqual({ responseLimitBytes: 1500, budgetBytes: 2 * 1024 ** 3 });
    expect(parseSize('16kb')).toBe(16 * 1024);
  });

  it.each([
    ['HTTP_RESPONSE_LIMIT', 'lots', 'HTTP_RESPONSE_LIMIT must be a byte count or a size such as 64mb'],
    ['HTTP_MEMORY_BUDGET', '-1', 'HTTP_MEMORY_BUDGET must be a byte count or a size such as 1gb'],
  ])('refuses %s=%s, naming it', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});
