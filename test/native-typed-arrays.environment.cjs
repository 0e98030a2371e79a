'use strict';
/**
 * Jest runs each test file in its own V8 realm, but native addons (onnxruntime-node, tokenizers) create typed
 * arrays in the main realm, so onnxruntime's `data instanceof Float32Array` checks fail inside tests. This node
 * environment hands the test realm the main realm's typed-array constructors. test/captured-output.environment.cjs, jest.config.js's testEnvironment, extends it.
 */
const { TestEnvironment } = require('jest-environment-node');

const SHARED_GLOBALS = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class NativeTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED_GLOBALS) {
      this.global[name] = globalThis[name];
    }
  }
}

module.exports = NativeTypedArraysEnvironment;
