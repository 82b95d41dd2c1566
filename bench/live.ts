// Section 4 of the benchmark: the live network. Tabs of one headless Chromium (the browser tests'
// set-up: the built app and the relay of `npm start` on one port, test/e2e/browser.ts) form one
// room. Measured, in this order, in that one room:
//
// - formation: from opening the first tab to a network where every tab is connected to every other
//   and every tab, in every tab's view, is past Observer (Core or Candidate);
// - commit latency at light load: city traffic at its default (one transaction a second per tab),
//   from submitting a transaction in its tab's worker to that worker committing it;
// - saturation: every tab's traffic at 200 a second with several transactions in flight per city
//   member, committed transactions (and bill payments) per second over the chain, then traffic off
//   and every transaction submitted is checked to have committed exactly once;
// - the frame rate of one page while it commits.
//
// The tabs are reached through `window.__tierbft` and, in each tab's validator worker, the probe of
// workers/validator.worker.ts (Playwright's worker handle). The CPU time of the browser's threads
// (from /proc) says where the machine's time went.
//
// `npx tsx bench/live.ts [--quick]` runs this section alone and prints its figures (progress on
// stderr, the section as JSON on stdout). The full run: 8 tabs, 20 s of light load, 30 s of
// saturation, then a second room formed with ?interval=400 (a few minutes in all). `--quick`: 4
// tabs, 6 s and 8 s, no second room (under a minute). For development, BENCH_LIVE_TABS,
// BENCH_LIVE_INTERVAL, BENCH_LIVE_LIGHT, BENCH_LIVE_SATURATION (seconds), BENCH_LIVE_RATE,
// BENCH_LIVE_DEPTH override the plan (the notes say so) and BENCH_LIVE_DEBUG=1 prints the pages'
// console.

import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, CDPSession, Page, Worker } from 'playwright-core';
import {
  agreeOnACommonBlock,
  buildApp,
  findChromium,
  launch,
  noConflict,
  recordLogs,
  serveWithRelay,
  waitFor,
} from '../test/e2e/browser.ts';
import type { ChainAudit, OwnTxReport } from '../src/net/tab-validator.ts';
import { defaultProtocolConfig } from '../src/protocol/types.ts';
import type { ValidatorWorkerProbe } from '../workers/validator.worker.ts';
import type { Figure, Progress, Section } from './report.ts';

export interface LiveOptions {
  readonly quick: boolean;
  readonly progress: Progress;
}

/** How a run is set up (the full run, or `--quick`; a few knobs for development via env). */
interface Plan {
  readonly tabs: number;
  /** `?interval=` of the room, or null for the default block interval. */
  readonly interval: number | null;
  readonly lightSeconds: number;
  readonly warmUpSeconds: number;
  readonly saturationSeconds: number;
  /** Traffic per tab at saturation (TabValidator's most) and transactions in flight per member. */
  readonly ratePerTab: number;
  readonly depth: number;
  readonly fpsSeconds: number;
  /** Block interval of a second room that is only formed (null: none). */
  readonly secondFormation: number | null;
}

function planOf(quick: boolean): Plan {
  const env = (name: string) => {
    const v = process.env[`BENCH_LIVE_${name}`];
    return v === undefined || v === '' ? null : Number(v);
  };
  return {
    tabs: env('TABS') ?? (quick ? 4 : 8),
    interval: env('INTERVAL'),
    lightSeconds: env('LIGHT') ?? (quick ? 6 : 20),
    warmUpSeconds: quick ? 3 : 5,
    saturationSeconds: env('SATURATION') ?? (quick ? 8 : 30),
    ratePerTab: env('RATE') ?? 200,
    depth: env('DEPTH') ?? 32,
    fpsSeconds: quick ? 3 : 5,
    secondFormation: quick || env('INTERVAL') !== null ? null : 400,
  };
}

const debug = process.env.BENCH_LIVE_DEBUG === '1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Why the tabs' data channels closed (the page logs each), counted while `linkLog.on`. */
const linkLog = { on: true, reasons: new Map<string, number>() };

function watch(page: Page, label: string): Page {
  recordLogs(page, label);
  page.on('console', (m) => {
    if (debug) console.error(`${label} ${m.type()}: ${m.text()}`);
    const closed = /^tierbft: link to \S+ closed: (.*)$/.exec(m.text());
    if (closed && linkLog.on) {
      // "send failed: Failed to execute 'send' on 'RTCDataChannel': Trying to send message larger
      // than max-message-size" and the like: the first words say enough.
      const reason = closed[1]!.replace(
        /^(send failed: ).*larger than max-message-size.*$/,
        "$1frame over the data channel's size limit",
      );
      linkLog.reasons.set(reason, (linkLog.reasons.get(reason) ?? 0) + 1);
    }
  });
  return page;
}

// ── the probe in each tab's validator worker ───────────────────────────────────────────────────

type ProbeMethod = keyof ValidatorWorkerProbe;
type ProbeResult<M extends ProbeMethod> = Awaited<ReturnType<ValidatorWorkerProbe[M]>>;

/** Calls the probe of a tab's validator worker (see workers/validator.worker.ts). */
function probe<M extends ProbeMethod>(
  worker: Worker,
  method: M,
  ...args: Parameters<ValidatorWorkerProbe[M]>
): Promise<ProbeResult<M>> {
  return worker.evaluate(
    ([m, a]) => {
      const p = (globalThis as unknown as { __tierbftProbe: Record<string, unknown> })
        .__tierbftProbe;
      return (p[m] as (...x: unknown[]) => unknown)(...a);
    },
    [method, args] as [string, unknown[]],
  ) as Promise<ProbeResult<M>>;
}

/** The validator worker of a tab (where the probe lives). */
async function workerOf(page: Page): Promise<Worker> {
  const start = Date.now();
  for (;;) {
    for (const w of page.workers()) {
      const ok = await w.evaluate(() => '__tierbftProbe' in globalThis).catch(() => false);
      if (ok) return w;
    }
    if (Date.now() - start > 30_000)
      throw new Error('no validator worker with a probe in the page');
    await sleep(100);
  }
}

// ── measuring ──────────────────────────────────────────────────────────────────────────────────

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Frames per second the page draws over `ms`, measured in the page (as test/e2e/solo.test.ts). */
function framesPerSecond(page: Page, ms: number): Promise<number> {
  // A string, so that no helper of the TypeScript loader (tsx names functions) leaks into the page.
  return page.evaluate(`new Promise((resolve) => {
    let frames = 0;
    const start = performance.now();
    const tick = () => {
      frames++;
      const t = performance.now() - start;
      if (t < ${ms}) requestAnimationFrame(tick);
      else resolve((frames * 1000) / t);
    };
    requestAnimationFrame(tick);
  })`);
}

/** Machine-wide CPU time so far (clock ticks), from /proc/stat (null where there is none). */
function cpuTimes(): { busy: number; total: number } | null {
  try {
    const v = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
    const n = v.map(Number);
    const total = n.reduce((a, b) => a + b, 0);
    return { busy: total - (n[3] ?? 0) - (n[4] ?? 0), total };
  } catch {
    return null;
  }
}

/** CPU time (clock ticks) of the threads of the processes this one started, by thread name. */
function childThreadTicks(): Map<string, number> {
  const out = new Map<string, number>();
  const parentOf = new Map<number, number>();
  let pids: number[] = [];
  try {
    pids = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(Number);
  } catch {
    return out;
  }
  const fields = (stat: string) => stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  for (const pid of pids) {
    try {
      parentOf.set(pid, Number(fields(readFileSync(`/proc/${pid}/stat`, 'utf8'))[1]));
    } catch {
      // gone meanwhile
    }
  }
  const ours = (pid: number) => {
    for (let p = parentOf.get(pid) ?? 0, hops = 0; p > 1 && hops < 16; hops++) {
      if (p === process.pid) return true;
      p = parentOf.get(p) ?? 0;
    }
    return false;
  };
  for (const pid of parentOf.keys()) {
    if (!ours(pid)) continue;
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const f = fields(stat);
        out.set(name, (out.get(name) ?? 0) + Number(f[11]) + Number(f[12]));
      }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** What the machine and the browser's threads did over a window. */
class CpuWindow {
  private readonly machine = cpuTimes();
  private readonly threads = childThreadTicks();
  private readonly start = Date.now();

  /** Busy share of the whole machine (%), and cores used per kind of browser thread. */
  end(): { machineBusy: number; cores: { kind: string; cores: number }[] } {
    const seconds = (Date.now() - this.start) / 1000;
    const m = cpuTimes();
    const machineBusy =
      this.machine && m && m.total > this.machine.total
        ? (100 * (m.busy - this.machine.busy)) / (m.total - this.machine.total)
        : NaN;
    const byKind = new Map<string, number>();
    for (const [name, ticks] of childThreadTicks()) {
      const used = (ticks - (this.threads.get(name) ?? 0)) / 100 / seconds;
      byKind.set(threadKind(name), (byKind.get(threadKind(name)) ?? 0) + used);
    }
    const cores = [...byKind]
      .map(([kind, c]) => ({ kind, cores: c }))
      .filter((x) => x.cores >= 0.005)
      .sort((a, b) => b.cores - a.cores);
    return { machineBusy, cores };
  }
}

/** Chromium's thread names (as Linux shortens them) grouped by what they do here. */
function threadKind(name: string): string {
  if (name.startsWith('DedicatedWorker')) return 'validator workers';
  if (name === 'chromium' || name.startsWith('CrRendererMain')) return 'pages (main threads)';
  if (name.startsWith('ThreadPool')) return 'thread pool (WebCrypto, IndexedDB, …)';
  if (name.startsWith('WebRTC') || name.startsWith('rtc')) return 'WebRTC';
  if (name.startsWith('Compositor') || name.startsWith('VizComp') || name.startsWith('Raster'))
    return 'compositing';
  if (name.includes('IOThread') || name.startsWith('Chrome_ChildIOT')) return 'IPC';
  return 'other browser threads';
}

const formatPageTimes = (t: Awaited<ReturnType<PageTimes['end']>>) =>
  `each page's main thread ran tasks ${round(t.task)}% of the time (scripts ${round(t.script)}%, layout ${round(t.layout)}%, style ${round(t.style)}%)`;

const formatCores = (w: ReturnType<CpuWindow['end']>) =>
  `machine ${w.machineBusy.toFixed(0)}% busy; browser threads (cores): ${w.cores
    .map((c) => `${c.kind} ${c.cores.toFixed(2)}`)
    .join(', ')}`;

/** Milliseconds for a page's main thread, and for its validator worker, to answer a trivial call. */
async function responsiveness(pages: readonly Page[], workers: readonly Worker[]) {
  const time = async (f: () => Promise<unknown>) => {
    const t = performance.now();
    await f();
    return performance.now() - t;
  };
  const [page, worker] = await Promise.all([
    Promise.all(pages.map((p) => time(() => p.evaluate('0')))),
    Promise.all(workers.map((w) => time(() => w.evaluate('0')))),
  ]);
  return { page, worker };
}

/** Share of the time each page's main thread ran tasks (and scripts), from Chrome's metrics. */
class PageTimes {
  private constructor(
    private readonly sessions: CDPSession[],
    private readonly start: Record<string, number>[],
    private readonly t0: number,
  ) {}

  static async begin(context: BrowserContext, pages: readonly Page[]): Promise<PageTimes> {
    const sessions = await Promise.all(pages.map((p) => context.newCDPSession(p)));
    await Promise.all(sessions.map((c) => c.send('Performance.enable')));
    return new PageTimes(sessions, await PageTimes.read(sessions), performance.now());
  }

  private static read(sessions: readonly CDPSession[]) {
    return Promise.all(
      sessions.map(async (c) => {
        const { metrics } = await c.send('Performance.getMetrics');
        return Object.fromEntries(metrics.map((m) => [m.name, m.value]));
      }),
    );
  }

  /** Mean over the pages of the busy share (%) of task, script, layout and style time. */
  async end(): Promise<{ task: number; script: number; layout: number; style: number }> {
    const seconds = (performance.now() - this.t0) / 1000;
    const now = await PageTimes.read(this.sessions);
    const mean = (key: string) =>
      (100 * sum(now, (m) => m[key] ?? 0) - 100 * sum(this.start, (m) => m[key] ?? 0)) /
      seconds /
      now.length;
    await Promise.all(this.sessions.map((c) => c.detach().catch(() => {})));
    return {
      task: mean('TaskDuration'),
      script: mean('ScriptDuration'),
      layout: mean('LayoutDuration'),
      style: mean('RecalcStyleDuration'),
    };
  }
}

/** How quickly the tabs answer, sampled over a window: where a frame would wait. */
class Waits {
  readonly page: number[] = [];
  readonly worker: number[] = [];
  readonly queue: number[] = [];

  constructor(
    private readonly pages: readonly Page[],
    private readonly workers: readonly Worker[],
  ) {}

  async sample(): Promise<void> {
    const [r, q] = await Promise.all([
      responsiveness(this.pages, this.workers),
      Promise.all(this.workers.map((w) => probe(w, 'backlogMs'))),
    ]);
    this.page.push(...r.page);
    this.worker.push(...r.worker);
    this.queue.push(...q);
  }

  /** The median of one kind of wait, in ms. */
  median(kind: 'page' | 'worker' | 'queue'): number {
    return percentile(
      [...this[kind]].sort((a, b) => a - b),
      0.5,
    );
  }

  describe(): string {
    const p = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return `${round(percentile(sorted, 0.5))} ms (p99 ${round(percentile(sorted, 0.99))} ms)`;
    };
    return `a page's main thread took ${p(this.page)} to answer a call from here, its validator worker ${p(this.worker)}, and the validator's input queue was ${p(this.queue)} behind`;
  }
}

const pastObserver = (tier: string | null) => tier === 'core' || tier === 'candidate';
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;
const sum = <T>(xs: readonly T[], f: (x: T) => number) => xs.reduce((a, x) => a + f(x), 0);

/** Adds counts by key. */
function mergeCounts(all: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of all) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/** Opens the room's first tab, then the others together; waits until the network has formed. */
async function form(context: BrowserContext, url: string, n: number) {
  const t0 = Date.now();
  const first = watch(await context.newPage(), 'tab0');
  await first.goto(url);
  await waitFor([first], 'the first tab to found the room', ([s]) => s!.tier === 'core');
  const founded = Date.now() - t0;
  // The others open together once the room exists (as a class that follows a shared link).
  const others = await Promise.all(
    Array.from({ length: n - 1 }, async (_, i) => {
      const page = watch(await context.newPage(), `tab${i + 1}`);
      await page.goto(url);
      return page;
    }),
  );
  const pages = [first, ...others];
  const loaded = Date.now() - t0;
  const at = { connected: 0, registered: 0 };
  const states = await waitFor(
    pages,
    `${n} tabs connected and past Observer`,
    (ss) => {
      const now = Date.now() - t0;
      const connected = ss.every((s) => s.peerCount === n - 1);
      const registered = ss.every((s) => s.validators.length === n && s.tier !== null);
      if (connected && !at.connected) at.connected = now;
      if (connected && registered && !at.registered) at.registered = now;
      return (
        connected && registered && ss.every((s) => s.validators.every((v) => pastObserver(v.tier)))
      );
    },
    180_000,
  );
  return { pages, states, founded, loaded, ...at, formed: Date.now() - t0 };
}

// ── the section ────────────────────────────────────────────────────────────────────────────────

export async function liveBench(options: LiveOptions): Promise<Section> {
  const { quick, progress } = options;
  const plan = planOf(quick);
  const figures: Record<string, Figure> = {};
  const notes: string[] = [];
  const executable = findChromium();
  if (!executable) {
    notes.push('not run: no Chromium found (set CHROMIUM_PATH or `apt-get install chromium`)');
    return { figures, notes };
  }

  progress('live: building the app');
  const root = await buildApp();
  const app = await serveWithRelay(root);
  let browser: Browser | null = null;
  try {
    browser = await launch(executable);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await run(context, app.url, plan, figures, notes, progress);
    await context.close();
    if (plan.secondFormation !== null) {
      // The same formation in a room whose founder set a shorter block interval (and so shorter
      // epochs): how much of the formation is climbing the tiers.
      const interval = plan.secondFormation;
      progress(`live: formation again, in a room with ?interval=${interval}`);
      const again = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const room = `bench-${Date.now().toString(36)}`;
      const f = await form(again, `${app.url}/?room=${room}&interval=${interval}`, plan.tabs);
      figures[`formation.interval${interval}`] = {
        value: round(f.formed / 1000, 1),
        unit: 's',
        note: `the same, in a room opened with ?interval=${interval} (epochs of ${(defaultProtocolConfig.epochLength * interval) / 1000} s): connected at ${round(f.connected / 1000, 1)} s, registered at ${round(f.registered / 1000, 1)} s`,
      };
      progress(
        `live: formed in ${round(f.formed / 1000, 1)} s with ?interval=${interval} (connected ${f.connected} ms, registered ${f.registered} ms)`,
      );
      await again.close();
    }
  } finally {
    await browser?.close().catch(() => {});
    await app.close();
  }
  return { figures, notes };
}

async function run(
  context: BrowserContext,
  baseUrl: string,
  plan: Plan,
  figures: Record<string, Figure>,
  notes: string[],
  progress: Progress,
): Promise<void> {
  const n = plan.tabs;
  const room = `bench-${Date.now().toString(36)}`;
  const url = `${baseUrl}/?room=${room}${plan.interval ? `&interval=${plan.interval}` : ''}`;
  notes.push(
    `set-up: ${n} tabs (pages of one headless Chromium, 1280×800, software rendering; the first tab in front, the others drawn as Chromium draws windows behind it, a few frames a second) in room ${room}, the built app and the relay on one port as \`npm start\` serves them; default room settings${plan.interval ? ` but ?interval=${plan.interval}` : ''} (block interval ${plan.interval ?? defaultProtocolConfig.blockIntervalMs} ms, epochs of ${defaultProtocolConfig.epochLength} heights); load average ${loadavg()[0]!.toFixed(2)} when the section started (the machine may be shared)`,
  );

  linkLog.on = true;
  linkLog.reasons.clear();
  const knobs = Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_LIVE_'));
  if (knobs.length > 0)
    notes.push(`set by environment: ${knobs.map(([k, v]) => `${k}=${v}`).join(' ')}`);

  // ── formation ──
  progress(`live: opening ${n} tabs in room ${room}`);
  const formationCpu = new CpuWindow();
  const f = await form(context, url, n);
  const formationWindow = formationCpu.end();
  const { pages } = f;
  const first = pages[0]!;
  let states = f.states;
  const tiers = states[0]!.validators.map((v) => v.tier);
  const count = (tier: string) => tiers.filter((t) => t === tier).length;
  progress(
    `live: formed in ${(f.formed / 1000).toFixed(1)} s: founded ${f.founded} ms, pages loaded ${f.loaded} ms, all connected ${f.connected} ms, all registered ${f.registered} ms; ${count('core')} Core, ${count('candidate')} Candidate`,
  );
  figures.formation = {
    value: round(f.formed / 1000, 1),
    unit: 's',
    goal: '≤ 10 s',
    met: f.formed <= 10_000,
    note: `first tab opened → ${n} tabs all connected to each other, registered, and Core or Candidate in every tab's view`,
  };
  figures['formation.connected'] = {
    value: round(f.connected / 1000, 1),
    unit: 's',
    note: `every tab connected to every other (the first founded its room at ${round(f.founded / 1000, 1)} s, the other pages had loaded at ${round(f.loaded / 1000, 1)} s)`,
  };
  figures['formation.registered'] = {
    value: round(f.registered / 1000, 1),
    unit: 's',
    note: 'and every tab in the registry (joined as an Observer)',
  };
  const c = defaultProtocolConfig;
  const interval = plan.interval ?? c.blockIntervalMs;
  notes.push(
    `formation: "past Observer" means Core or Candidate, in every tab's view of the registry. A newcomer registers as an Observer with trust ${c.newcomerTrust}; Observers attest the first block of each epoch, and one included attestation is a full score, so at the next epoch boundary its trust is (${c.trustMemory}·${c.newcomerTrust} + ${1000 - c.trustMemory}·1000)/1000 = ${Math.floor((c.trustMemory * c.newcomerTrust + (1000 - c.trustMemory) * 1000) / 1000)} ≥ ${c.candidateEnter} (candidateEnter) and it is a Candidate; the first few are topped up into Core, which never has fewer than ${c.minCore}. So after registering a tab waits one to two epochs (${c.epochLength}–${2 * c.epochLength} heights, ${(c.epochLength * interval) / 1000}–${(2 * c.epochLength * interval) / 1000} s at a ${interval} ms block interval). Here: ${count('core')} Core, ${count('candidate')} Candidate; ${formatCores(formationWindow)}.`,
  );

  const workers = await Promise.all(pages.map(workerOf));
  // The page whose frame rate is measured is the one in front, as the tab one looks at (Chromium
  // draws the pages behind it only a few times a second, as it does background tabs).
  await first.bringToFront();

  // ── light load ──
  await Promise.all(workers.map((w) => probe(w, 'setTraffic', true, 1, 1)));
  await sleep(3_000);
  progress(`live: light load (one transaction a second per tab) for ${plan.lightSeconds} s`);
  const lightSince = await Promise.all(workers.map((w) => probe(w, 'now')));
  const lightCpu = new CpuWindow();
  const lightFps = framesPerSecond(first, plan.fpsSeconds * 1000);
  const lightWaits = new Waits(pages, workers);
  const lightPages = await PageTimes.begin(context, pages);
  for (let t = 0; t < plan.lightSeconds; t += 2) {
    await sleep(2_000);
    await lightWaits.sample();
  }
  const lightPageTimes = await lightPages.end();
  const lightUntil = await Promise.all(workers.map((w) => probe(w, 'now')));
  const lightWindow = lightCpu.end();
  const lightFpsValue = await lightFps;
  // What was submitted in the window commits a little later.
  let lightReports: OwnTxReport[] = [];
  for (let waited = 0; waited < 20_000; waited += 500) {
    lightReports = (await Promise.all(
      workers.map((w, i) => probe(w, 'ownTxReport', lightSince[i]!, lightUntil[i]!)),
    )) as OwnTxReport[];
    if (lightReports.every((r) => r.pending === 0)) break;
    await sleep(500);
  }
  const light = lightReports.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
  if (light.length > 0) {
    figures.latencyP50 = {
      value: round(percentile(light, 0.5)),
      unit: 'ms',
      goal: '≤ 100 ms',
      met: percentile(light, 0.5) <= 100,
      note: `${light.length} transactions at one a second per tab; from submitting in its tab's worker to that worker committing it`,
    };
    figures.latencyP99 = { value: round(percentile(light, 0.99)), unit: 'ms' };
  } else notes.push('light load: no transaction committed, so no latency');
  figures['fps.lightLoad'] = {
    value: round(lightFpsValue, 1),
    unit: 'fps',
    note: `the first tab's page, over ${plan.fpsSeconds} s at light load`,
  };
  progress(
    `live: light load: latency p50 ${figures.latencyP50?.value} ms, p99 ${figures.latencyP99?.value} ms over ${light.length} transactions; ${round(lightFpsValue, 1)} fps; ${lightWaits.describe()}; ${formatPageTimes(lightPageTimes)}; ${formatCores(lightWindow)}`,
  );
  notes.push(
    `light load: ${light.length} transactions (${sum(lightReports, (r) => r.submitted)} submitted, ${sum(lightReports, (r) => r.pending)} still pending after 20 s, rejected ${JSON.stringify(mergeCounts(lightReports.map((r) => r.rejected)))}); sampled every 2 s, ${lightWaits.describe()}; ${formatPageTimes(lightPageTimes)}; ${formatCores(lightWindow)}`,
  );

  // ── saturation ──
  progress(
    `live: saturation: ${plan.ratePerTab} transactions a second per tab, up to ${plan.depth} in flight per city member, ${plan.warmUpSeconds} s to warm up, then ${plan.saturationSeconds} s`,
  );
  await Promise.all(workers.map((w) => probe(w, 'setTraffic', true, plan.ratePerTab, plan.depth)));
  await sleep(plan.warmUpSeconds * 1000);
  const satSince = await Promise.all(workers.map((w) => probe(w, 'now')));
  const countersAtStart = await Promise.all(workers.map((w) => probe(w, 'counters')));
  const c0 = countersAtStart[0]!;
  const s0 = Date.now();
  const satCpu = new CpuWindow();
  // The frame rate in the middle of the window.
  const fps = sleep(((plan.saturationSeconds - plan.fpsSeconds) / 2) * 1000).then(() =>
    framesPerSecond(first, plan.fpsSeconds * 1000),
  );
  const satWaits = new Waits(pages, workers);
  const satPages = await PageTimes.begin(context, pages);
  const mempools: number[] = [];
  /** Where the chain was at each sample: seconds into the window, height, view. */
  const track: { at: number; height: number; view: number }[] = [];
  for (let t = 0; t < plan.saturationSeconds; t += 3) {
    await sleep(Math.min(3, plan.saturationSeconds - t) * 1000);
    const [, c] = await Promise.all([satWaits.sample(), probe(workers[0]!, 'counters')]);
    mempools.push(c.mempool ?? 0);
    track.push({ at: (Date.now() - s0) / 1000, height: c.height ?? 0, view: c.view ?? 0 });
    progress(
      `live:   at ${round((Date.now() - s0) / 1000)} s: height ${c.height} (view ${c.view}), ${c.txCount! - c0.txCount!} committed, mempool ${c.mempool}, page answers in ${round(Math.max(...satWaits.page.slice(-n)))} ms at most`,
    );
  }
  const countersAtEnd = await Promise.all(workers.map((w) => probe(w, 'counters')));
  const c1 = countersAtEnd[0]!;
  const delta = (key: string) =>
    sum(countersAtEnd, (c) => c[key] ?? 0) - sum(countersAtStart, (c) => c[key] ?? 0);
  const s1 = Date.now();
  const satWindow = satCpu.end();
  const satPageTimes = await satPages.end();
  const satFps = await fps;
  const seconds = (s1 - s0) / 1000;
  const audit = (await probe(workers[0]!, 'chainAudit', c0.height!, c1.height!)) as ChainAudit;
  const payments = audit.byType['pay-bill'] ?? 0;
  // A chain that decided nothing over the last 10 s of the window had stopped: when, and how fast
  // it went until then (the window's figures count the whole window).
  const lastMove = track.findLast((x, i) => i > 0 && x.height > track[i - 1]!.height);
  const stalled =
    track.length > 1 && seconds - (lastMove?.at ?? 0) >= 10 && track.at(-1)!.height === c1.height
      ? { at: lastMove?.at ?? 0, view: track.at(-1)!.view }
      : null;
  const perSecond = payments / seconds;
  const txPerSecond = audit.txs / seconds;
  figures.paymentsPerSecond = {
    value: round(perSecond),
    unit: 'payments/s',
    goal: '≥ 400',
    met: perSecond >= 400,
    note: `bill payments (pay-bill) the chain committed over ${round(seconds)} s at saturation`,
  };
  figures.transactionsPerSecond = {
    value: round(txPerSecond),
    unit: 'tx/s',
    note: `every city transaction committed in the same window: ${JSON.stringify(audit.byType)}`,
  };
  figures['saturation.heightsPerSecond'] = {
    value: round(audit.blocks / seconds, 2),
    unit: 'heights/s',
    note: `${audit.blocks} blocks, ${round(audit.txs / Math.max(1, audit.blocks))} transactions each on average, ${audit.viewChanges} decided after a view change`,
  };
  figures.fps = {
    value: round(satFps, 1),
    unit: 'fps',
    goal: '≥ 50',
    met: satFps >= 50,
    note: `the first tab's page, over ${plan.fpsSeconds} s in the middle of the saturation window`,
  };
  progress(
    `live: saturation: ${round(perSecond)} payments/s, ${round(txPerSecond)} tx/s, ${audit.blocks} heights, ${round(satFps, 1)} fps; ${satWaits.describe()}; ${formatPageTimes(satPageTimes)}; ${formatCores(satWindow)}`,
  );

  // ── none lost, none twice ──
  await Promise.all(workers.map((w) => probe(w, 'setTraffic', false)));
  progress('live: traffic off; waiting for every transaction submitted to commit');
  let reports: OwnTxReport[] = [];
  for (let waited = 0; waited < 60_000; waited += 1_000) {
    reports = (await Promise.all(
      workers.map((w, i) => probe(w, 'ownTxReport', satSince[i]!)),
    )) as OwnTxReport[];
    if (reports.every((r) => r.pending === 0)) break;
    await sleep(1_000);
  }
  const submitted = sum(reports, (r) => r.submitted);
  const committed = sum(reports, (r) => r.committed);
  const rejected = mergeCounts(reports.map((r) => r.rejected));
  const rejectedCount = sum(Object.values(rejected), (x) => x);
  const pending = sum(reports, (r) => r.pending);
  let common = true;
  try {
    states = await waitFor(pages, 'every tab at a common block', agreeOnACommonBlock, 60_000);
  } catch (error) {
    common = false;
    states = await Promise.all(pages.map((p) => p.evaluate(() => window.__tierbft!)));
    notes.push(
      `after the saturation the tabs held no common block within 60 s: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  linkLog.on = false;
  const end = await Promise.all(workers.map((w) => probe(w, 'counters')));
  const head = Math.min(...states.map((s) => s.height));
  const audits = (await Promise.all(
    workers.map((w) => probe(w, 'chainAudit', 0, head)),
  )) as ChainAudit[];
  const twice =
    sum(reports, (r) => r.committedTwice) +
    Math.max(...audits.map((a) => a.duplicateTxs)) +
    Math.max(...audits.map((a) => a.billsPaidTwice));
  const agree = common && noConflict(states) && audits.every((a) => a.txs === audits[0]!.txs);
  figures['saturation.lost'] = {
    value: pending + rejectedCount,
    unit: 'transactions',
    goal: '0',
    met: pending + rejectedCount === 0,
    note: `of ${submitted} submitted from the start of the window to the end of traffic: ${committed} committed, ${rejectedCount} rejected ${JSON.stringify(rejected)}, ${pending} never answered within 60 s`,
  };
  figures['saturation.committedTwice'] = {
    value: twice,
    unit: 'transactions',
    goal: '0',
    met: twice === 0,
    note: 'commit events for a transaction already committed, transactions at two places of the chain, and bills with two payments (every tab checked its whole chain)',
  };
  const satLatency = reports.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
  if (satLatency.length > 0)
    figures['saturation.latencyP50'] = {
      value: round(percentile(satLatency, 0.5)),
      unit: 'ms',
      note: `p99 ${round(percentile(satLatency, 0.99))} ms, over the ${satLatency.length} transactions committed`,
    };
  notes.push(
    `saturation: every tab's city traffic at ${plan.ratePerTab}/s (TabValidator's most) with up to ${plan.depth} transactions in flight per city member (20 members: the issuer, 7 providers, 12 households; TabValidator.setTraffic's depth, through the worker probe; the page offers 1 in flight and 50/s). ${submitted} submitted, ${committed} committed, ${rejectedCount} rejected, ${pending} unanswered; ${twice} committed twice; the tabs ${agree ? 'agree on every block they hold' : 'DISAGREE'} (${head} heights). Over the window, the ${n} validators took in ${delta('framesIn')} frames and sent ${delta('framesOut')} (${round(delta('bytesOut') / 1e6, 1)} MB), and checked ${delta('nativeChecks')} signatures natively and ${delta('pureJsChecks')} on the pure-JS path (cache misses, each tab's own submissions among them). Sampled every 3 s, ${satWaits.describe()}; ${formatPageTimes(satPageTimes)}; ${formatCores(satWindow)}`,
  );
  if (!noConflict(states)) notes.push('SAFETY: two tabs hold different blocks at one height');
  const drops = [...linkLog.reasons].map(([reason, k]) => `${k} × ${reason}`);
  notes.push(
    `links: ${drops.length > 0 ? `data channels closed during the run: ${drops.join('; ')}` : 'no data channel closed during the run'}. At the end, per tab (height/view/mempool/peers): ${end.map((c, i) => `${c.height}/${c.view}/${c.mempool}/${states[i]!.peerCount}`).join(' ')}`,
  );
  progress(
    `live: ${submitted} submitted, ${committed} committed, ${rejectedCount} rejected, ${pending} unanswered, ${twice} twice`,
  );
  // What bounds the figures, from what this run measured.
  const hop = lightWaits.median('page');
  const climb = f.formed - f.registered;
  notes.push(
    `what bounds them: (1) formation: ${round(f.connected / 1000, 1)} s until every tab was connected to every other (page loads, then ${(n * (n - 1)) / 2} WebRTC links set up through the relay, on a busy machine), ${round((f.registered - f.connected) / 1000, 1)} s more until all were registered, then ${round(climb / 1000, 1)} s until every tab was past Observer, which happens only at an epoch boundary (one to two epochs after registering, by design). ` +
      `(2) Latency: every frame between two validators leaves one worker through its page's main thread and reaches the other worker through the other page's main thread (workers have no RTCPeerConnection), and a commit needs three to five such hops (the transaction to the primary unless it submitted it, pre-prepare, prepare, commit, and the decided block to a Candidate). At light load a page's main thread took ${round(hop)} ms at the median to answer (busy ${round(lightPageTimes.task)}% of the time, on a machine ${round(lightWindow.machineBusy)}% busy), and the validators' input queues were ${round(lightWaits.median('queue'))} ms behind: the time goes to waiting for the pages' main threads and for the CPU, not to the validators. ` +
      `(3) Throughput: ${
        stalled
          ? `the network stopped deciding about ${round(stalled.at)} s into the window (still at height ${c1.height} at its end, in view ${stalled.view}; ${[...linkLog.reasons].map(([r, k]) => `${k} × ${r}`).join(', ') || 'no data channel closed'})${stalled.at >= 3 ? `: until then it committed about ${round(audit.txs / stalled.at)} transactions a second` : ''}. `
          : ''
      }The chain decided ${round(audit.blocks / seconds, 2)} heights a second, ${round(audit.txs / Math.max(1, audit.blocks))} transactions each; the mempool held ${round(
        percentile(
          [...mempools].sort((a, b) => a - b),
          0.5,
        ),
      )} transactions at the median when sampled, so the validators, not the workload, set the pace: a height costs several hops through busy page threads, and each of the ${n} validators checks, executes and stores every transaction (${round(
        sum(
          satWindow.cores.filter((c) => c.kind === 'validator workers'),
          (c) => c.cores,
        ),
        2,
      )} cores in the validator workers, ${round(
        sum(
          satWindow.cores.filter((c) => c.kind === 'pages (main threads)'),
          (c) => c.cores,
        ),
        2,
      )} in the pages' main threads, of the machine's ${availableParallelism()}). ` +
      `(4) Frame rate: the page in front draws a frame only between its main thread's other tasks; it ran tasks ${round(satPageTimes.task)}% of the time during the saturation.`,
  );
  if (plan.tabs !== 8)
    notes.push(
      `${plan.tabs} tabs, not 8${plan.tabs === 4 ? ' (--quick)' : ''}: formation and throughput are not the 8-tab figures`,
    );
}

const isMain =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  const quick = process.argv.includes('--quick');
  const section = await liveBench({ quick, progress: (line) => console.error(line) });
  console.log(JSON.stringify(section, null, 2));
}
