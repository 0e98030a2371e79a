import { ConsoleLogger } from '@nestjs/common';
import { bootLogger } from './boot-logger';

/** The lines a logger writing to a collecting destination wrote. */
function capture(): { destination: { write(line: string): void }; lines: () => object[] } {
  const written: string[] = [];
  return {
    destination: { write: (line: string) => void written.push(line) },
    lines: () =>
      written
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as object),
  };
}

describe('bootLogger', () => {
  it('writes one JSON object per line with the context, in nestjs-pino shape, at the configured level', () => {
    const out = capture();
    const logger = bootLogger('json', 'log', out.destination);
    logger.log('starting', 'Main');
    logger.error('Invalid environment variables: PORT …', 'Main');
    logger.debug!('not at level log', 'EmbeddedPostgres');
    logger.warn({ msg: 'structured', taskId: 3 }, 'Sender');
    expect(out.lines()).toEqual([
      expect.objectContaining({ level: 30, context: 'Main', msg: 'starting', pid: process.pid }),
      expect.objectContaining({ level: 50, context: 'Main', msg: 'Invalid environment variables: PORT …' }),
      expect.objectContaining({ level: 40, context: 'Sender', msg: 'structured', taskId: 3 }),
    ]);
  });

  it("keeps Nest's console logger for LOG_FORMAT=pretty", () => {
    expect(bootLogger('pretty', 'log')).toBeInstanceOf(ConsoleLogger);
  });
});
