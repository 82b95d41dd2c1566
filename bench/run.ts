// `npm run bench -- [--quick] [--only crypto,throughput,scale,live] [--out PATH]`: runs the
// benchmark sections of issue #5, prints progress (stderr) and a table per section (stdout), and
// writes one JSON object with a key per section, every figure with its unit, and the machine it
// ran on. A bad flag is one line on stderr and exit code 2; a section that fails is reported in
// the JSON and the table and makes the exit code 1, after the other sections have run.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runCommand, UsageError } from '../server/cli.ts';
import { cryptoBench, measureNativeOneCore } from './crypto.ts';
import { formatSection, type Progress, type Section } from './report.ts';
import { scaleBench } from './scale.ts';
import { throughputBench } from './throughput.ts';

const sectionNames = ['crypto', 'throughput', 'scale', 'live'] as const;
type SectionName = (typeof sectionNames)[number];

const titles: Record<SectionName, string> = {
  crypto: '1. Crypto limit',
  throughput: '2. Throughput against the limit',
  scale: '3. Scale',
  live: '4. Live network in Chromium',
};

const usage = `usage: npm run bench -- [flags]
  --quick                a short run of every section (well under a minute for sections 1–3)
  --only LIST            comma-separated sections to run: ${sectionNames.join(',')} (default: all)
  --out PATH             where to write the JSON (default bench/results/latest.json)
  --help`;

interface BenchOptions {
  readonly quick: boolean;
  readonly only: readonly SectionName[];
  readonly out: string;
}

function parse(argv: readonly string[]): BenchOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean' },
        only: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
  if (values.help) return 'help';
  let only: SectionName[] = [...sectionNames];
  if (values.only !== undefined) {
    const names = values.only.split(',').map((name) => name.trim());
    const unknown = names.find((name) => !(sectionNames as readonly string[]).includes(name));
    if (unknown !== undefined || names.length === 0)
      throw new UsageError(
        `--only expects a comma-separated list of ${sectionNames.join(', ')}, got '${values.only}'`,
      );
    only = sectionNames.filter((name) => names.includes(name));
  }
  if (values.out !== undefined && values.out.trim() === '')
    throw new UsageError('--out expects a file path');
  return {
    quick: values.quick ?? false,
    only,
    out: resolve(values.out ?? 'bench/results/latest.json'),
  };
}

/** The browser's version line, or null when there is no Chromium here (or it will not say). */
async function chromiumVersion(): Promise<string | null> {
  try {
    const { findChromium } = await import('../test/e2e/browser.ts');
    const path = findChromium();
    if (path === null) return null;
    const out = execFileSync(path, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    return out.trim().split('\n').pop() ?? null;
  } catch {
    return null;
  }
}

async function machineFacts() {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
    chromium: await chromiumVersion(),
    platform: `${process.platform} ${release()} ${process.arch}`,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    // The machine may be shared: the load when the run started says how much of it was ours.
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}

type Outcome = Section | { skipped: string } | { error: string };

/**
 * Section 4 (bench/live.ts) drives Chromium through Playwright. It is loaded only when selected,
 * so that sections 1–3 neither load the browser tooling nor depend on it.
 */
async function liveSection(quick: boolean, progress: Progress): Promise<Outcome> {
  const { liveBench } = await import('./live.ts');
  return liveBench({ quick, progress });
}

async function run(options: BenchOptions): Promise<number> {
  const started = new Date();
  const progress: Progress = (line) =>
    process.stderr.write(
      `  … [${((Date.now() - started.getTime()) / 1000).toFixed(0)} s] ${line}\n`,
    );
  const machine = await machineFacts();
  process.stdout.write(
    `TierBFT benchmark${options.quick ? ' (quick)' : ''} · ${started.toISOString()} · ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.chromium ?? 'no Chromium'} · load ${machine.loadAverage1m}\n\n`,
  );

  const outcomes = {} as Record<SectionName, Outcome>;
  let failed = false;
  let nativeRate: number | null = null;
  const sections: Record<SectionName, () => Promise<Outcome>> = {
    crypto: async () => {
      const section = await cryptoBench({ quick: options.quick, progress });
      nativeRate = section.figures.nativeOneCore?.value ?? null;
      return section;
    },
    throughput: async () => {
      if (nativeRate === null) {
        progress('throughput: measuring the native limit first (section 1 was not selected) …');
        nativeRate = await measureNativeOneCore(options.quick);
      }
      return throughputBench({
        quick: options.quick,
        progress,
        nativeVerificationsPerSecond: nativeRate,
      });
    },
    scale: () => scaleBench({ quick: options.quick, progress }),
    live: () => liveSection(options.quick, progress),
  };

  for (const name of sectionNames) {
    if (!options.only.includes(name)) {
      outcomes[name] = { skipped: 'not selected (--only)' };
      continue;
    }
    let outcome: Outcome;
    try {
      outcome = await sections[name]();
    } catch (error) {
      failed = true;
      outcome = { error: (error as Error).stack ?? String(error) };
    }
    outcomes[name] = outcome;
    if ('figures' in outcome) process.stdout.write(`${formatSection(titles[name], outcome)}\n\n`);
    else if ('skipped' in outcome)
      process.stdout.write(`== ${titles[name]}\n  skipped: ${outcome.skipped}\n\n`);
    else process.stdout.write(`== ${titles[name]}\n  FAILED: ${outcome.error}\n\n`);
  }

  const result = { date: started.toISOString(), quick: options.quick, machine, ...outcomes };
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `wrote ${options.out} (${((Date.now() - started.getTime()) / 1000).toFixed(0)} s)\n`,
  );
  return failed ? 1 : 0;
}

runCommand('bench', usage, () => parse(process.argv.slice(2)), run);
