// What the server-side commands (`npm start`, `npm run validator`) share: a bad flag is one line on
// stderr and exit code 2, `--help` prints the usage, and anything unexpected exits 1 with its stack.

import { exitWhenFlushed } from '../src/sim/exit.ts';

export class UsageError extends Error {}

/**
 * Runs a command: `parse` turns argv into options (throwing UsageError for bad input, or returning
 * 'help'), `run` does the work and returns the exit code. Exits the process with that code, once its
 * output is written.
 */
export function runCommand<O>(
  name: string,
  usage: string,
  parse: () => O | 'help',
  run: (options: O) => Promise<number>,
): void {
  const main = async (): Promise<number> => {
    let options: O | 'help';
    try {
      options = parse();
    } catch (error) {
      if (error instanceof UsageError) {
        process.stderr.write(`${name}: ${error.message} (see --help)\n`);
        return 2;
      }
      throw error;
    }
    if (options === 'help') {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    return run(options);
  };
  main().then(exitWhenFlushed, (error: unknown) => {
    process.stderr.write(`${name}: ${(error as Error).stack ?? String(error)}\n`);
    exitWhenFlushed(1);
  });
}
