import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findProjectRoot } from './config.loader';

/** The service's version, as package.json says (for --version, /info and the OpenAPI document). */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(join(findProjectRoot(), 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}
