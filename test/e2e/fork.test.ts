// The live safety proof in a real Chromium: more than f colluding equivocators (headless bots of
// `npm run validator -- --fault sleeper --collude`) fork a room of tabs, and an honest tab's safety
// line turns red with the proof under it: two different certified blocks at one height, each
// certificate's signatures checked in the page, and who signed both. A screenshot goes to
// test-results/ (looked at, not compared).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import {
  buildApp,
  findChromium,
  launch,
  recordLogs,
  serveWithRelay,
  stateOf,
  waitFor,
} from './browser.ts';

const executable = findChromium();
const suite = executable ? describe : describe.skip;
const artifacts = 'test-results';
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** `npm run validator` with `args`, its output kept to explain a failure. */
function bots(args: readonly string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/validator.ts', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  return { child, output: () => output };
}

/** Waits until the bots' output matches `pattern` (they print their status every 5 s). */
async function untilOutput(
  bots: { child: ChildProcess; output: () => string },
  what: string,
  pattern: RegExp,
  timeoutMs = 45_000,
): Promise<void> {
  const start = Date.now();
  while (!pattern.test(bots.output())) {
    if (bots.child.exitCode !== null || Date.now() - start > timeoutMs)
      throw new Error(`timed out waiting for ${what}:\n${bots.output().slice(-3_000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

suite('the live safety proof in a real browser', () => {
  let root = '';
  beforeAll(async () => {
    root = await buildApp();
  }, 120_000);

  it('three colluding sleepers fork a room; an honest tab shows the proof', async () => {
    const started = Date.now();
    const app = await serveWithRelay(root);
    cleanups.push(() => app.close());

    // Three bots found the room as one cabal. Alone in the committee they are honest with each
    // other, so the chain advances; every honest validator enters the committee later, as one of a
    // minority. (Were the tabs there first, a single bot topped up into a committee of three would
    // be a fault the committee cannot tolerate: it would stall before the others got in.)
    const cabal = bots([
      '--room',
      'fork-room',
      '--url',
      app.url,
      '--count',
      '3',
      '--fault',
      'sleeper',
      '--collude',
      '--create',
      '--timeout',
      '150000',
    ]);
    const exited = new Promise<number | null>((resolve) => cabal.child.on('exit', resolve));
    cleanups.push(async () => {
      cabal.child.kill('SIGINT');
      const timer = setTimeout(() => cabal.child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    });
    await untilOutput(
      cabal,
      'the three bots in the committee',
      /^(?:[0-9a-f]{8} h\d+ core peers \d+(?: · |$)){3}$/m,
    );

    // Two tabs join. The room tops its Core up to four: the first honest validator joins three
    // Byzantine ones (f = 1), then the second (five, f = 1). Whenever a bot is primary, each half
    // of the honest members gets its own block, backed by the prepares and commits of all three:
    // each side reaches a quorum on its own block.
    const browser = await launch(executable!);
    cleanups.push(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1280, height: 1400 } });
    const url = `${app.url}/?room=fork-room`;
    const pages: Page[] = [];
    for (let i = 0; i < 2; i++) {
      const page = recordLogs(await context.newPage(), `tab${i}`);
      await page.goto(url);
      pages.push(page);
    }

    const states = await waitFor(
      pages,
      'an honest tab to see a conflicting certified block',
      (ss) => ss.some((s) => !s.safe),
      60_000,
    ).catch(async (error: Error) => {
      const seen = (await Promise.all(pages.map(stateOf))).map(
        (s) =>
          `${s?.name}: blocks ${s?.blocks.map((b) => `${b.height}:${b.hash.slice(0, 8)}`).join(' ')}; ` +
          `validators ${s?.validators.map((v) => `${v.name} ${v.tier} ${v.trust}`).join(', ')}`,
      );
      throw new Error(
        `${error.message}\n${seen.join('\n')}\nbots:\n${cabal.output().slice(-3_000)}`,
      );
    });
    const brokenAt = states.findIndex((s) => !s.safe);
    const page = pages[brokenAt]!;
    const honest = new Set(states.map((s) => s.name));
    expect(cabal.child.exitCode, cabal.output()).toBeNull();

    // The badge is red and names the height; the proof is under it.
    const badge = page.getByTestId('safety');
    await expect.poll(() => badge.getAttribute('class')).toMatch(/\bbroken\b/);
    const said = (await badge.textContent())!;
    const height = Number(/conflicts with ours at height (\d+)/.exec(said)?.[1]);
    expect(height, said).toBeGreaterThan(0);
    const proof = page.getByTestId('safety-proof');
    await proof.waitFor();
    expect(await proof.locator('h2').textContent()).toBe(
      `Proof that safety broke at height ${height}`,
    );
    const [, q, n] = /at least q = (\d+) of n = (\d+) signatures/
      .exec((await proof.textContent())!)!
      .map(Number);
    expect(q).toBe(Math.floor((2 * n!) / 3) + 1);

    // Two different blocks, each certificate with at least q signatures that check out here.
    const branches = proof.getByTestId('proof-branch');
    expect(await branches.count()).toBe(2);
    const shown = await branches.evaluateAll((items) =>
      items.map((li) => ({
        digest: li.getAttribute('data-digest')!,
        valid: Number(li.getAttribute('data-valid-signatures')),
        of: Number(li.getAttribute('data-signers')),
        text: li.textContent ?? '',
      })),
    );
    const digests = shown.map((b) => b.digest);
    expect(new Set(digests).size).toBe(2);
    // One of them is the block this tab committed at that height.
    const own = states[brokenAt]!.blocks.find((b) => b.height === height);
    if (own) expect(digests).toContain(own.hash);
    for (const b of shown) {
      expect(b.valid, b.text).toBeGreaterThanOrEqual(q!);
      expect(b.valid, b.text).toBe(b.of);
      expect(b.text).toContain(`${b.valid} of ${b.of} signatures valid`);
      expect(b.text).not.toContain('does not hash to its digest');
    }
    // Automation reads the same proof from window.__tierbft.
    const forkProof = (await stateOf(page))!.forkProof!;
    expect(forkProof).toMatchObject({ height, q, n });
    expect(forkProof.branches.map((b) => b.digest).sort()).toEqual([...digests].sort());
    // Who signed both: more than f of them, and none of them an honest tab.
    const doubleSigners = (await page.getByTestId('double-signers').textContent())!.split(', ');
    expect(doubleSigners.length).toBeGreaterThan(Math.floor((n! - 1) / 3));
    for (const name of doubleSigners) expect(honest.has(name), name).toBe(false);

    mkdirSync(artifacts, { recursive: true });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: `${artifacts}/live-fork-1280x1400.png` });
    await proof.screenshot({ path: `${artifacts}/live-fork-proof.png` });
    console.info(
      `fork at height ${height} seen by ${states[brokenAt]!.name} (q = ${q} of n = ${n}) after ${Date.now() - started} ms; ` +
        `tabs at ${(await Promise.all(pages.map(stateOf))).map((s) => `h${s!.height}`).join(', ')}`,
    );
  }, 120_000);
});
