// Live rooms in a real Chromium: tabs of one browser meeting over BroadcastChannel with no relay,
// separate browser processes (like laptops) meeting through the relay of `npm start`, a tab that
// closes, a tab that reloads, and a headless Node validator joining a room of tabs.

import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { nodeTransports } from '../../server/node-transports.ts';
import type { AutomationSnapshot } from '../../src/app/live-room.ts';
import { Mesh } from '../../src/net/mesh.ts';
import { until } from '../net/helpers.ts';
import {
  agreeOnACommonBlock,
  buildApp,
  findChromium,
  launch,
  noConflict,
  recordLogs,
  serveStatic,
  serveWithRelay,
  stateOf,
  waitFor,
} from './browser.ts';

const executable = findChromium();
const suite = executable ? describe : describe.skip;
const cleanups: (() => Promise<unknown>)[] = [];
const artifacts = 'test-results';

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** Opens `count` pages: the first founds the room, the others join once it runs. */
async function openRoom(newPage: () => Promise<Page>, url: string, count: number): Promise<Page[]> {
  const first = recordLogs(await newPage(), 'tab0');
  await first.goto(url);
  await waitFor([first], 'the first tab to found the room', ([s]) => s!.tier === 'core');
  const pages = [first];
  for (let i = 1; i < count; i++) {
    const page = recordLogs(await newPage(), `tab${i}`);
    await page.goto(url);
    pages.push(page);
  }
  return pages;
}

/** Waits until the tabs are all connected and registered, then for payments and a common block. */
async function formsAndCommits(
  pages: readonly Page[],
  signaling: string,
): Promise<AutomationSnapshot[]> {
  const n = pages.length;
  let states = await waitFor(pages, `${n} registered tabs connected to each other`, (ss) =>
    ss.every((s) => s.peerCount === n - 1 && s.tier !== null),
  );
  expect(states.map((s) => s.signaling)).toEqual(Array(n).fill(signaling));
  expect(new Set(states.map((s) => s.selfId)).size).toBe(n);
  const startTxs = Math.max(...states.map((s) => s.committedTxs));
  states = await waitFor(
    pages,
    'payments committed and a common block',
    (ss) => ss.every((s) => s.committedTxs >= startTxs + 5) && agreeOnACommonBlock(ss),
  );
  expect(noConflict(states)).toBe(true);
  return states;
}

/** Pays one of this tab's bills by hand and waits for it to be committed. */
async function payByHand(page: Page): Promise<void> {
  // The user looks at this tab: a tab behind others gets a few animation frames a second, too few
  // for a click on a table that changes with every block.
  await page.bringToFront();
  // Traffic off, so this tab's households do not pay their bills on their own meanwhile.
  await page.getByTestId('traffic').uncheck();
  const row = page.locator('tr[data-bill]', { has: page.getByTestId('pay') }).first();
  await row.waitFor({ timeout: 60_000 });
  const bill = await row.getAttribute('data-bill');
  await row.getByTestId('pay').click();
  const state = page.locator(`tr[data-bill="${bill}"] [data-testid="bill-state"]`);
  await state.filter({ hasText: /committed|settled/ }).waitFor({ timeout: 60_000 });
  await page.getByTestId('traffic').check();
}

suite('live rooms in a real browser', () => {
  let root = '';
  beforeAll(async () => {
    root = await buildApp();
  }, 120_000);

  it('(a) four tabs of one browser form a network over BroadcastChannel with no relay, (c) one closes, (d) one reloads', async () => {
    const site = await serveStatic(root);
    cleanups.push(() => site.close());
    const browser = await launch(executable!);
    cleanups.push(() => browser.close());
    const context = await browser.newContext();
    const url = `${site.url}/?room=tabs-room&interval=400`;
    const pages = await openRoom(() => context.newPage(), url, 4);

    // (a) The tabs find each other without a relay, register, commit payments and agree.
    let states = await formsAndCommits(pages, 'broadcast-channel');
    await payByHand(pages[1]!);
    expect(await pages[1]!.getByTestId('room').textContent()).toBe('tabs-room');
    // The status view shows what window.__tierbft says.
    const shown = await pages[1]!.getByTestId('self-id').textContent();
    expect(shown).toBe(states[1]!.selfId);

    // The ledger view: the last blocks, each opening to its commit certificate; the cost meter.
    // Pointed at, the block list holds still and says how many newer blocks wait (scrolled to
    // first, as a user does: a panel off screen keeps what it last drew).
    await pages[1]!.getByTestId('blocks').scrollIntoViewIfNeeded();
    await pages[1]!.getByTestId('block').first().waitFor();
    await pages[1]!.getByTestId('blocks').hover();
    await pages[1]!.getByTestId('blocks-held').waitFor();
    const explorer = pages[1]!.getByTestId('block').first();
    const heldHeight = await explorer.getAttribute('data-height');
    await explorer.locator('summary').click();
    await expect
      .poll(() => explorer.getByTestId('certificate').textContent())
      .toMatch(/\d+ commit signatures at height \d+, view \d+ \(q = \d+ of n = \d+\)/);
    expect(await explorer.getAttribute('data-height')).toBe(heldHeight);
    // Pointer and focus elsewhere, it follows the chain again.
    await pages[1]!.mouse.click(2, 2);
    await pages[1]!.getByTestId('blocks-held').waitFor({ state: 'detached' });
    expect(await pages[1]!.getByTestId('cost-meter').textContent()).toMatch(
      /Messages per payment\s*\d+/,
    );

    // A chain file: exported from one tab, verified block by block from its genesis in another.
    const download = pages[1]!.waitForEvent('download');
    await pages[1]!.getByTestId('export-chain').click();
    const chainFile = await (await download).path();
    await pages[2]!.getByTestId('import-chain').setInputFiles(chainFile);
    await expect
      .poll(() => pages[2]!.getByTestId('chain-message').textContent(), { timeout: 30_000 })
      .toMatch(/all \d+ blocks of room tabs-room verified from its genesis/);

    // Crash, from the Misbehave menu: one tab's validator stops while the other three (a quorum)
    // commit on, then it continues where it was and catches up. Then Twins: a second copy of it,
    // with its key, on half of its links; one faulty validator of four is within f = 1, so the
    // room commits on in agreement and every safety line stays green.
    const odd = pages[3]!;
    const heightNow = async () =>
      Math.max(...(await Promise.all(pages.map(stateOf))).map((x) => x!.height));
    await odd.getByTestId('fault').selectOption('crash');
    // The choice reaches the worker after the frames queued before it, and the page polls its
    // worker every 300 ms: the crashed tab's height is the one that stands still while the other
    // three commit two more heights.
    let frozen = -1;
    let othersThen = 0;
    await waitFor(pages, 'the crashed tab to stand still', (ss) => {
      const others = Math.min(...ss.slice(0, 3).map((s) => s.height));
      if (ss[3]!.height !== frozen) [frozen, othersThen] = [ss[3]!.height, others];
      return others >= othersThen + 2;
    });
    let from = await heightNow();
    states = await waitFor(pages, 'three tabs committing while the fourth has crashed', (ss) =>
      ss.slice(0, 3).every((s) => s.height >= from + 4),
    );
    expect(states[3]!.height).toBe(frozen);
    await odd.getByTestId('fault').selectOption('none');
    states = await waitFor(
      pages,
      'the crashed tab back and in agreement',
      (ss) => ss[3]!.height >= from + 4 && agreeOnACommonBlock(ss),
      90_000,
    );
    await odd.getByTestId('fault').selectOption('twins');
    from = await heightNow();
    states = await waitFor(
      pages,
      'the room committing with a twinned tab',
      (ss) => ss.slice(0, 3).every((s) => s.height >= from + 6) && agreeOnACommonBlock(ss),
      90_000,
    );
    expect(noConflict(states)).toBe(true);
    for (const page of pages)
      expect(await page.getByTestId('safety').textContent()).toContain(
        'every commit seen here agrees',
      );
    await odd.getByTestId('fault').selectOption('none');
    // Honest again, it must be at the room's height before it loses every frame it sends: its
    // requests for blocks it lacks would be lost too (it keeps up only by listening). Two heights
    // past the switch, too: a proposal that reached the twin just before it went is not the
    // original's, and only a block request (lost, under 100 % loss) would bring it back.
    from = await heightNow();
    await waitFor(
      pages,
      'the twinned tab honest again and at the room’s height',
      (ss) =>
        ss.every((s) => s.height >= from + 2) &&
        new Set(ss.map((s) => s.height)).size === 1 &&
        agreeOnACommonBlock(ss),
      90_000,
    );

    // Network faults on the same tab's outgoing links: every frame lost, then every frame late.
    // The other three are a quorum (q = 3 of 4, or all of the committee if the twin got it
    // quarantined) and commit on; the faulty tab keeps up by listening.
    const faulty = odd;
    await setRange(faulty, 'link-loss', 100);
    from = await heightNow();
    states = await waitFor(
      pages,
      'the room committing while one tab loses every frame it sends',
      (ss) =>
        ss.every((s) => s.height >= from + 6) &&
        ss[3]!.linkFaults.lost > 20 &&
        agreeOnACommonBlock(ss),
      90_000,
    );
    await setRange(faulty, 'link-loss', 0);
    await setRange(faulty, 'link-delay', 300);
    from = await heightNow();
    states = await waitFor(
      pages,
      'the room committing with one slow tab',
      (ss) =>
        ss.every((s) => s.height >= from + 4) &&
        ss[3]!.linkFaults.delayed > 20 &&
        agreeOnACommonBlock(ss),
      90_000,
    );
    await setRange(faulty, 'link-delay', 0);
    expect(noConflict(states)).toBe(true);

    // (c) A tab closes; the others keep committing and stay in agreement. It handed them a signed
    // leave as it went, which they submit when it does not come back: it leaves the registry.
    const closing = pages.pop()!;
    const closingId = (await stateOf(closing))!.selfId;
    await closing.close({ runBeforeUnload: true });
    const before = await waitFor(pages, 'the others to see it gone', (ss) =>
      ss.every((s) => s.peerCount === 2),
    );
    const height = Math.max(...before.map((s) => s.height));
    const txs = Math.max(...before.map((s) => s.committedTxs));
    states = await waitFor(
      pages,
      'three tabs committing on',
      (ss) =>
        ss.every((s) => s.height >= height + 10 && s.committedTxs >= txs + 3) &&
        agreeOnACommonBlock(ss),
      90_000,
    );
    expect(noConflict(states)).toBe(true);
    states = await waitFor(pages, 'the closed tab to leave the registry', (ss) =>
      ss.every((s) => s.validators.length === 3 && !s.validators.some((v) => v.id === closingId)),
    );

    // (d) A tab reloads: the same validator comes back, catches up and reaches the same blocks.
    const reloaded = pages[2]!;
    const id = (await stateOf(reloaded))!.selfId;
    const heightBefore = (await stateOf(reloaded))!.height;
    await reloaded.reload();
    states = await waitFor(
      pages,
      'the reloaded tab back as itself, in agreement',
      (ss) =>
        ss[2]!.selfId === id &&
        ss[2]!.height > heightBefore + 3 &&
        ss.every((s) => s.peerCount === 2) &&
        agreeOnACommonBlock(ss),
      90_000,
    );
    expect(noConflict(states)).toBe(true);
    // A reload is not a leave: it comes back within the grace period and keeps its place.
    const after = states[0]!.height;
    states = await waitFor(pages, 'a few more heights', (ss) =>
      ss.every((s) => s.height > after + 15),
    );
    expect(states.every((s) => s.validators.some((v) => v.id === id))).toBe(true);
    expect(states[2]!.tier).not.toBeNull();
    // It forgot what it signed at the open height, but kept where that was: it signed nothing
    // there again, so no tab holds evidence against it.
    for (const s of states)
      expect(s.validators.find((v) => v.id === id)?.tier, s.name).not.toBe('quarantined');
  }, 240_000);

  it('(b) four browser processes form a network through the relay, (e) a headless validator joins, then an equivocator is quarantined', async () => {
    const app = await serveWithRelay(root);
    cleanups.push(() => app.close());
    const browsers: Browser[] = [];
    const newPage = async () => {
      const browser = await launch(executable!);
      browsers.push(browser);
      cleanups.push(() => browser.close());
      return browser.newPage();
    };
    const pages = await openRoom(newPage, `${app.url}/?room=laptops&interval=400`, 4);
    let states = await formsAndCommits(pages, 'relay');

    // A hostile peer joins the room and sends garbage and an oversized frame to every tab: each
    // tab disconnects it, and the room commits on.
    const rogue = await hostilePeer(app.url, 'laptops');
    cleanups.push(async () => rogue.stop());
    await until('the hostile peer to be thrown out by every tab', () => rogue.closedBy() >= 4);
    rogue.stop();
    const h = Math.max(...states.map((s) => s.height));
    states = await waitFor(
      pages,
      'the room committing after the attack',
      (ss) => ss.every((s) => s.height > h + 5 && s.peerCount === 3) && agreeOnACommonBlock(ss),
    );

    // (e) `npm run validator` joins the room of tabs over real WebRTC and follows the chain.
    const target = Math.max(...states.map((s) => s.height)) + 8;
    const bot = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'server/validator.ts',
        '--room',
        'laptops',
        '--url',
        app.url,
        '--until-height',
        String(target),
        '--timeout',
        '90000',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    bot.stdout.on('data', (d) => (output += d));
    bot.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((resolve) => bot.on('exit', resolve));
    expect(code, output).toBe(0);
    states = await waitFor(pages, 'the bot in every tab’s registry', (ss) =>
      ss.every((s) => s.validators.length === 5),
    );
    expect(noConflict(states)).toBe(true);

    // A tab turns equivocator: every tab's tier view moves it to Quarantined, and safety holds.
    const cheat = pages[3]!;
    const cheatId = (await stateOf(cheat))!.selfId;
    await cheat.getByTestId('fault').selectOption('equivocate');
    for (const page of pages)
      await page
        .locator(`[data-testid="tier-node"][data-id="${cheatId}"][data-tier="quarantined"]`)
        .waitFor({ timeout: 90_000 });
    for (const page of pages)
      expect(await page.getByTestId('safety').textContent()).toContain(
        'every commit seen here agrees',
      );
    states = await waitFor(pages, 'agreement after the quarantine', agreeOnACommonBlock);
    expect(noConflict(states)).toBe(true);
    // Only the equivocator: no honest tab is convicted on the way.
    for (const s of states)
      expect(
        s.validators.filter((v) => v.tier === 'quarantined').map((v) => v.id),
        s.name,
      ).toEqual([cheatId]);

    // The live page as a laptop shows it, with the equivocator in Quarantined (looked at, not
    // compared): the first screen at 1280×800, and the whole page.
    const shown = pages[0]!;
    await shown.setViewportSize({ width: 1280, height: 800 });
    await shown.bringToFront();
    mkdirSync(artifacts, { recursive: true });
    await shown.screenshot({ path: `${artifacts}/live-1280x800.png` });
    await shown.getByTestId('tier-rings').screenshot({ path: `${artifacts}/live-tier-rings.png` });
    // Panels off screen keep what they last drew: bring the ledger into view first.
    await shown.getByTestId('ledger').scrollIntoViewIfNeeded();
    await shown.getByTestId('blocks').locator('[data-testid="block"]').first().waitFor();
    await shown.screenshot({ path: `${artifacts}/live-full-page.png`, fullPage: true });
  }, 240_000);
});

/** Moves a range control as a user would (an `input` event with the new value). */
async function setRange(page: Page, testId: string, value: number) {
  await page.getByTestId(testId).evaluate((el, v) => {
    const input = el as HTMLInputElement;
    input.value = String(v);
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }, value);
}

/** A peer that joins a room through the relay and sends every tab it meets junk. */
async function hostilePeer(httpUrl: string, room: string) {
  const closedBy = new Set<string>();
  const mesh: Mesh = new Mesh(
    {
      url: `${httpUrl.replace('http', 'ws')}/signal`,
      room,
      peerId: `rogue-${Date.now().toString(36)}`,
      maxFrameBytes: 1024 * 1024,
      ...nodeTransports,
    },
    {
      open: (peer) => {
        // Not even CBOR, and no hello first.
        mesh.send(peer, new Uint8Array([0xff, 0x00, 0x13, 0x37]));
      },
      data: () => {},
      close: (peer, reason) => {
        if (!reason.startsWith('timed out')) closedBy.add(peer);
      },
      refused: () => {},
    },
  );
  mesh.start();
  return { stop: () => mesh.stop(), closedBy: () => closedBy.size };
}
