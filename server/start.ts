// `npm start`: one command for a classroom. It builds the app when the build is missing or older
// than its sources, then serves it and the signaling relay on one port (server/serve.ts) and
// prints the addresses and a QR code to open it from other devices. Input is checked before any
// work, so a bad PORT costs nothing.

import { runCommand, UsageError } from './cli.ts';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { addressBanner, portFromEnv, startAppServer } from './serve.ts';

const usage = `usage: npm start [-- --help]
  Builds the app if needed, then serves it and the signaling relay on one port.
  PORT=N     port to listen on (default 5173; 0 picks a free one)
  HOST=ADDR  interface to listen on (default 0.0.0.0: every network this machine is on)`;

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
/** What the build reads; a change to any of these makes dist/ stale. */
const buildInputs = ['src', 'workers', 'public', 'index.html', 'vite.config.ts'];

interface StartOptions {
  port: number;
  host: string;
}

function parseStartInput(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): StartOptions | 'help' {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: { help: { type: 'boolean' } },
    }).values;
  } catch (error) {
    // Node's messages run on with advice about '--'; the first sentence is the news.
    throw new UsageError((error as Error).message.split('. ')[0]!);
  }
  if (values.help) return 'help';
  return { port: portFromEnv(env), host: env.HOST || '0.0.0.0' };
}

/** Newest modification time under `path` (a file or a directory), or 0 if it does not exist. */
function newestMtime(path: string): { mtimeMs: number; path: string } {
  if (!existsSync(path)) return { mtimeMs: 0, path };
  const stat = statSync(path);
  if (!stat.isDirectory()) return { mtimeMs: stat.mtimeMs, path };
  let newest = { mtimeMs: 0, path };
  for (const entry of readdirSync(path)) {
    const candidate = newestMtime(join(path, entry));
    if (candidate.mtimeMs > newest.mtimeMs) newest = candidate;
  }
  return newest;
}

/** Why dist/ needs building, or null when it is up to date. */
function staleReason(root: string): string | null {
  const built = join(root, 'dist', 'index.html');
  if (!existsSync(built)) return 'dist/index.html is missing';
  const builtMs = statSync(built).mtimeMs;
  for (const input of buildInputs) {
    const newest = newestMtime(join(root, input));
    if (newest.mtimeMs > builtMs)
      return `${relative(root, newest.path)} changed since the last build`;
  }
  return null;
}

async function main(options: StartOptions): Promise<number> {
  const reason = staleReason(projectRoot);
  if (reason) {
    process.stdout.write(`start: building the app (${reason})\n`);
    // Loaded only now: Vite is large, and a server with a fresh build has no use for it.
    const { build } = await import('vite');
    try {
      await build({ root: projectRoot, logLevel: 'warn' });
    } catch (error) {
      process.stderr.write(`start: the build failed: ${(error as Error).message}\n`);
      return 1;
    }
  }
  let app;
  try {
    app = await startAppServer({
      port: options.port,
      host: options.host,
      root: join(projectRoot, 'dist'),
    });
  } catch (error) {
    process.stderr.write(`start: ${(error as Error).message}\n`);
    return 1;
  }
  const everywhere = options.host === '0.0.0.0' || options.host === '::';
  process.stdout.write(
    everywhere
      ? `${await addressBanner(app.port)}\n`
      : `Local:   http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${app.port}/\n`,
  );
  const a = app;
  return new Promise<number>((resolve) => {
    const stop = () => {
      process.stdout.write('start: stopping\n');
      a.close().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

runCommand('start', usage, () => parseStartInput(process.argv.slice(2), process.env), main);
