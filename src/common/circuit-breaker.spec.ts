import { CircuitBreaker } from './circuit-breaker';

describe('CircuitBreaker', () => {
  let now = 0;
  let events: [boolean, string][];
  const breaker = () =>
    new CircuitBreaker('receiver', { failures: 3, probeMs: 1000, now: () => now }, (up, message) =>
      events.push([up, message]),
    );

  beforeEach(() => {
    now = 0;
    events = [];
  });

  it('opens after the configured failures in a row, once, and a success in between starts the count again', () => {
    const b = breaker();
    b.failed('503');
    b.failed('503');
    b.succeeded();
    b.failed('503');
    b.failed('503');
    expect(b.up).toBe(true);
    b.failed('refused');
    b.failed('refused');
    expect(b.up).toBe(false);
    expect(b.error).toBe('refused');
    expect(events).toEqual([[false, 'receiver unavailable after 3 failures in a row (refused): pausing claims']]);
  });

  it('lets one trial through per probe interval while open, and closes on its first success', () => {
    const b = breaker();
    ['a', 'b', 'c'].forEach((error) => b.failed(error));
    expect(b.allows()).toBe(false);
    now = 999;
    expect(b.allows()).toBe(false);
    now = 1000;
    expect(b.allows()).toBe(true);
    expect(b.allows()).toBe(false);
    b.failed('still down');
    now = 2000;
    expect(b.allows()).toBe(true);
    b.succeeded();
    expect(b.up).toBe(true);
    expect(b.allows()).toBe(true);
    expect(events.map(([up]) => up)).toEqual([false, true]);
    expect(events[1][1]).toBe('receiver available again: resuming claims');
  });
});
