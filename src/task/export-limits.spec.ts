import { loadConfig } from '../config/config.loader';
import { EXPORT_RETRY_AFTER_S, ExportLimits } from './export-limits';
import { TaskError, TaskErrorCode } from './task.errors';

describe('ExportLimits', () => {
  const limits = () => new ExportLimits(loadConfig({ TASK_EXPORT_MAX_CONCURRENT: '2' }));

  it('admits TASK_EXPORT_MAX_CONCURRENT exports, refuses the next with a Retry-After, and admits again after a release', () => {
    const exports = limits();
    const first = exports.admit();
    exports.admit();
    let refused: unknown;
    try {
      exports.admit();
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(TaskError);
    expect(refused).toMatchObject({ code: TaskErrorCode.TooManyExports, retryAfterSeconds: EXPORT_RETRY_AFTER_S });
    first();
    expect(() => exports.admit()).not.toThrow();
  });

  it('counts a slot released twice once', () => {
    const exports = limits();
    const release = exports.admit();
    exports.admit();
    release();
    release();
    exports.admit();
    expect(() => exports.admit()).toThrow('2 exports are already streaming (TASK_EXPORT_MAX_CONCURRENT)');
  });
});
