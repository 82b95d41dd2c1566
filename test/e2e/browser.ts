// Shared set-up of the browser end-to-end tests: a real Chromium found on this machine (through
// CHROMIUM_PATH, then the usual system paths), the app built once per run, and the servers the
// scenarios need. Locally a missing browser skips the suite with one loud line; in CI (CI=true)
// it is an error, because .ci/run installs Debian's chromium.

import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import sirv from 'sirv';
import { startAppServer, type AppServer } from '../../server/serve.ts';
import type { AutomationSnapshot } from '../../src/app/live-room.ts';

const candidates = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

/** The browser to test with, or null (with the reason printed) when there is none. */
export function findChromium(): string | null {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (existsSync(fromEnv)) return fromEnv;
    throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`);
  }
  const found = candidates.find((path) => existsSync(path)) ?? null;
  if (!found) {
    const line =
      'browser end-to-end tests: no Chromium found (set CHROMIUM_PATH or `apt-get install chromium`)';
    if (process.env.CI === 'true') throw new Error(`${line}; CI must run them`);
    console.warn(`\n!!! SKIPPED ${line} !!!\n`);
  }
  return found;
}

export const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // Host candidates as plain addresses: separate browser processes on one machine meet directly.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

export function launch(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, args: chromiumArgs });
}

let built: Promise<string> | null = null;

/** Builds the app once per test process into a temporary directory; returns that directory. */
export function buildApp(): Promise<string> {
  built ??= (async () => {
    const outDir = join(mkdtempSync(join(tmpdir(), 'tierbft-e2e-')), 'dist');
    const { build } = await import('vite');
    await build({ logLevel: 'error', build: { outDir, emptyOutDir: true } });
    return outDir;
  })();
  return built;
}

/** The app and the relay on one port, as `npm start` serves them. */
export async function serveWithRelay(root: string): Promise<AppServer & { url: string }> {
  const app = await startAppServer({ port: 0, host: '127.0.0.1', root, log: () => {} });
  return { ...app, url: `http://127.0.0.1:${app.port}` };
}

/** Only the static files: no relay, as on a static host (tabs fall back to BroadcastChannel). */
export async function serveStatic(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const files = sirv(root, { single: true });
  const server: Server = createServer((req, res) => files(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const logs = new WeakMap<Page, string[]>();

/** Keeps the last lines a page logged, to explain a failure. */
export function recordLogs(page: Page, label: string): Page {
  const lines: string[] = [];
  logs.set(page, lines);
  const keep = (line: string) => {
    lines.push(`${new Date().toISOString().slice(11, 23)} ${label} ${line}`);
    if (lines.length > 40) lines.shift();
  };
  page.on('console', (m) => keep(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => keep(`pageerror: ${e.message}`));
  return page;
}

/** Reads `window.__tierbft` (null until the tab's validator has started). */
export async function stateOf(page: Page): Promise<AutomationSnapshot | null> {
  return page.evaluate(() => window.__tierbft ?? null);
}

/** Polls until `check` holds for the states of all `pages`; the error says what was awaited. */
export async function waitFor(
  pages: readonly Page[],
  what: string,
  check: (states: AutomationSnapshot[]) => boolean,
  timeoutMs = 60_000,
): Promise<AutomationSnapshot[]> {
  const start = Date.now();
  let states: (AutomationSnapshot | null)[] = [];
  for (;;) {
    states = await Promise.all(pages.map(stateOf));
    if (states.every((s) => s !== null) && check(states as AutomationSnapshot[]))
      return states as AutomationSnapshot[];
    if (Date.now() - start > timeoutMs) {
      const brief = states.map((s) =>
        s
          ? `${s.name} ${s.tier ?? s.phase} h${s.height} v${s.view} n${s.committeeSize} peers ${s.peerCount}`
          : 'not started',
      );
      const recent = pages.flatMap((p) => logs.get(p) ?? []).sort();
      throw new Error(
        `timed out waiting for ${what}: ${brief.join(' | ')}\n${recent.slice(-60).join('\n')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** True when all states hold the same block at some common height (heads may differ by a block). */
export function agreeOnACommonBlock(states: readonly AutomationSnapshot[]): boolean {
  const first = states[0];
  if (!first) return false;
  return first.blocks.some((b) =>
    states.every((s) => s.blocks.some((c) => c.height === b.height && c.hash === b.hash)),
  );
}

/** True when no two states hold different blocks at the same height. */
export function noConflict(states: readonly AutomationSnapshot[]): boolean {
  const seen = new Map<number, string>();
  for (const s of states)
    for (const b of s.blocks) {
      const h = seen.get(b.height);
      if (h !== undefined && h !== b.hash) return false;
      seen.set(b.height, b.hash);
    }
  return true;
}
