/**
 * npm run soak -- --minutes N [flags]   (npm run soak -- --help for the flags)
 * A chaos run against real processes, checked at the end: see the README's "Soak test".
 */
import 'reflect-metadata';
import { parseOptions, SoakOptions, USAGE } from './options';
import { Soak } from './soak';

async function main(options: SoakOptions): Promise<number> {
  const soak = new Soak(options);
  process.once('SIGINT', () => void soak.cleanup().finally(() => process.exit(130)));
  try {
    return await soak.run();
  } finally {
    await soak.cleanup();
  }
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
let options: SoakOptions;
try {
  options = parseOptions(args);
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(2);
}
// Should the event loop empty while the run still waits (a child that never answered), that is an error, not a pass.
process.exitCode = 2;
main(options).then(
  // Child pipes and native thread pools can keep the event loop alive; the run is over.
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(2);
  },
);
