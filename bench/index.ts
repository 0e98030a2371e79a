/**
 * npm run bench [-- <part>...] [--texts N] [--rounds N] [--requests N]
 * With no part, runs every part in bench/parts.ts. BENCH_DATABASE_URL: PostgreSQL for parts that start the app.
 */
import 'reflect-metadata';
import { BenchOptions } from './lib/part';
import { PARTS } from './parts';

const NUMERIC_FLAGS = { '--texts': 'texts', '--rounds': 'rounds', '--requests': 'requests' } as const;

function parseArgs(args: string[]): { parts: string[]; options: BenchOptions } {
  const parts: string[] = [];
  const options: BenchOptions = { databaseUrl: process.env.BENCH_DATABASE_URL || undefined };
  for (let index = 0; index < args.length; index++) {
    const [flag, inline] = args[index].split('=', 2);
    if (!(flag in NUMERIC_FLAGS)) {
      parts.push(args[index]);
      continue;
    }
    const value = Number(inline ?? args[++index]);
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`${flag} needs a positive integer`);
    }
    options[NUMERIC_FLAGS[flag as keyof typeof NUMERIC_FLAGS]] = value;
  }
  return { parts, options };
}

async function main(args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log('npm run bench [-- <part>...] [--texts N] [--rounds N] [--requests N]\n\nParts:');
    PARTS.forEach((part) => console.log(`  ${part.name.padEnd(10)} ${part.description}`));
    return;
  }
  const { parts, options } = parseArgs(args);
  const unknown = parts.filter((name) => !PARTS.some((part) => part.name === name));
  if (unknown.length > 0) {
    throw new Error(`Unknown part ${unknown.join(', ')}; available: ${PARTS.map(({ name }) => name).join(', ')}`);
  }
  const selected = parts.length > 0 ? PARTS.filter(({ name }) => parts.includes(name)) : PARTS;
  for (const part of selected) {
    await part.run(options);
  }
}

main(process.argv.slice(2)).then(
  // Native thread pools (onnxruntime, tokenizers) can keep the event loop alive; the work is done.
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
