'use strict';
/**
 * Keeps `npm test` quiet while tests pass. Everything a test file writes — console calls, process.stdout and
 * process.stderr (Nest's logger, and the app's pino lines: pino writes through process.stdout once its `write` is
 * replaced), and the output of the child processes the tests start (test/processes.ts forwards it) — is held per
 * test. A failing test gets its output attached to its failure report; a passing test's output is dropped. Output
 * written before a test (in beforeAll) belongs to the first test after it. It is jest.config.js's testEnvironment.
 */
const { Console } = require('node:console');
const { Writable } = require('node:stream');
const NativeTypedArraysEnvironment = require('./native-typed-arrays.environment.cjs');

/** Enough for a failing test's story; a runaway loop's output is cut from the front. */
const MAX_CHARS = 200_000;

class CapturedOutputEnvironment extends NativeTypedArraysEnvironment {
  output = '';
  restores = [];

  async setup() {
    await super.setup();
    const append = (chunk) => (this.output += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    for (const stream of [process.stdout, process.stderr]) this.restores.push(replaceWrite(stream, append));
    const sink = new Writable({ write: (chunk, _encoding, done) => (append(chunk), done()) });
    this.global.console = new Console({ stdout: sink, stderr: sink });
  }

  async teardown() {
    for (const restore of this.restores.splice(0)) restore();
    await super.teardown();
  }

  handleTestEvent(event, state) {
    if (event.name === 'test_done') {
      if (event.test.errors.length > 0 && this.output) {
        event.test.errors.push(outputError('Output of this test (shown because it failed):', this.output));
      }
      this.output = '';
    } else if (event.name === 'hook_failure' && event.hook.type === 'afterAll' && this.output) {
      // Jest reports an afterAll failure for the file, not for a test.
      state.unhandledErrors.push(
        outputError('Output since the last test (shown because afterAll failed):', this.output),
      );
      this.output = '';
    }
  }
}

/** Sends a stream's writes to `append` until the returned function puts the previous `write` back. */
function replaceWrite(stream, append) {
  const previous = Object.getOwnPropertyDescriptor(stream, 'write');
  stream.write = (chunk, encoding, callback) => {
    append(chunk);
    const done = typeof encoding === 'function' ? encoding : callback;
    if (done) process.nextTick(done);
    return true;
  };
  return () => (previous ? Object.defineProperty(stream, 'write', previous) : delete stream.write);
}

/**
 * An extra error whose "stack" is the output, so Jest prints it under the test's own failure. Each line is
 * prefixed, so that logged stack traces are not taken for the error's stack (Jest would trim them).
 */
function outputError(title, output) {
  const cut = output.length - MAX_CHARS;
  const text = cut > 0 ? `(${cut} earlier characters left out)\n${output.slice(cut)}` : output;
  const error = new Error(title);
  error.stack = `${title}\n${text.replace(/\n$/, '').replace(/^/gm, '│ ')}`;
  return error;
}

module.exports = CapturedOutputEnvironment;
