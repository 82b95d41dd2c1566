// Section 3 of the benchmark: scale. 100 heights of multi-level trust with 1,000 registered
// validators (the Core committee at its default cap of 16) and of flat PBFT with 16, 64 and 128
// validators, plus both protocols at 100 validators for the message comparison of issue #5.
// Each run is a child process (bench/scale-run.ts), so that its peak memory is its own, and is
// stopped at the 60 s goal if it has not finished by then (once it has a few heights to measure
// its pace by): the figures then say how far it got and project the rest from that pace.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { breakdownNotes } from './profile.ts';
import { round, type Progress, type Section } from './report.ts';
import type { ScaleRunResult, ScaleRunSpec } from './scale-run.ts';

export interface ScaleOptions {
  readonly quick: boolean;
  readonly progress: Progress;
}

const goalSeconds = 60;
/** Multi-level trust must send at most this share of flat PBFT's messages per height. */
const goalMessageShare = 1 / 15;

/** Heights each run of the issue must reach. */
const goalHeights = 100;

/** A run past its budget goes on until it has a few heights, so that its pace can be measured. */
function limitsOf(quick: boolean): Omit<ScaleRunSpec, 'protocol' | 'validators'> {
  return quick
    ? { heights: 5, budgetMs: 6_000, minHeights: 1, hardLimitMs: 20_000 }
    : { heights: goalHeights, budgetMs: goalSeconds * 1000, minHeights: 5, hardLimitMs: 150_000 };
}

/**
 * The runs. Quick mode runs 5 heights under a 6 s budget and projects the time for 100 from that
 * pace, and leaves out the 1,000-validator network (building it alone takes tens of seconds).
 */
function runsOf(quick: boolean): ScaleRunSpec[] {
  const limits = limitsOf(quick);
  const runs: [ScaleRunSpec['protocol'], number][] = quick
    ? [
        ['mlt', 100],
        ['pbft', 16],
        ['pbft', 100],
      ]
    : [
        ['mlt', 1000],
        ['mlt', 100],
        ['pbft', 16],
        ['pbft', 64],
        ['pbft', 100],
        ['pbft', 128],
      ];
  return runs.map(([protocol, validators]) => ({ protocol, validators, ...limits }));
}

const runner = fileURLToPath(new URL('./scale-run.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Runs one spec in a child process (tsx's loader via --import), relaying its progress lines. */
function runChild(spec: ScaleRunSpec, progress: Progress): Promise<ScaleRunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', runner, JSON.stringify(spec)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderrTail = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    let partial = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-2_000);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') progress(`scale: ${line}`);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`scale run ${JSON.stringify(spec)} exited ${code}: ${stderrTail.trim()}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout.trim()) as ScaleRunResult);
      } catch (error) {
        reject(new Error(`scale run printed no result: ${(error as Error).message}`));
      }
    });
  });
}

function keyOf(spec: ScaleRunSpec): string {
  return `${spec.protocol}${spec.validators}`;
}

/** Protocol messages per height: everything validators send each other about a height. */
function protocolMessages(r: ScaleRunResult): number {
  const m = r.messages;
  return m.consensus + m.dissemination + m.attestation + m.sync;
}

export async function scaleBench(options: ScaleOptions): Promise<Section> {
  const { progress, quick } = options;
  const figures: Section['figures'] = {};
  const limits = limitsOf(quick);
  const notes: string[] = [
    'one process holds every replica, so the replicas SHARE ONE VERIFICATION CACHE (each signature is verified once per process, every replica still checks it against the cache); every replica runs its own protocol logic, ledger and block validation',
    'messages: copies sent between validators about heights the run completed; protocol = consensus (pre-prepare, prepare, commit, view change, new view, evidence) + dissemination of decided blocks + attestations + sync; client submissions are not counted; spectator copies (sent only so that other tabs can draw the diagram): none, the simulator sends none (solo mode observes its runs through hooks)',
    `each run is its own process (peak memory = that process's peak RSS, Node and tsx included) and is stopped after ${limits.budgetMs / 1000} s${quick ? ' (quick mode)' : ', the goal,'} if it has not finished (once it has ${limits.minHeights} heights to measure its pace by); a run that stopped short of 100 heights reports the heights it reached and the time projected for 100 from its pace`,
    'workload: the default city traffic (20 transactions per virtual second, 10 % of them invalid attempts), default network (5–40 ms latency)',
  ];
  const results = new Map<string, ScaleRunResult>();
  for (const spec of runsOf(quick)) {
    progress(
      `scale: ${spec.protocol === 'mlt' ? 'multi-level trust' : 'flat PBFT'}, ${spec.validators} validators, ${spec.heights} heights …`,
    );
    const key = keyOf(spec);
    const r = await runChild(spec, progress);
    results.set(key, r);
    const perHeight = (count: number) => Math.round(count / Math.max(1, r.heights));
    const pace = r.heights / (r.runMs / 1000);
    // Measured when the run did all 100 heights; otherwise setup plus 100 heights at its pace.
    // A run stopped before its first height has no pace; its wall time is then a lower bound.
    const measured = r.targetReached && spec.heights === goalHeights;
    const timeForAll =
      measured || r.heights === 0 ? r.wallMs / 1000 : r.setupMs / 1000 + goalHeights / pace;
    figures[`${key}.heights`] = {
      value: r.heights,
      unit: `heights reached of ${spec.heights}`,
    };
    figures[`${key}.committee`] = { value: r.committee, unit: 'Core members at the end' };
    figures[`${key}.wallTime`] = { value: round(r.wallMs / 1000, 1), unit: 's' };
    figures[`${key}.setupTime`] = {
      value: round(r.setupMs / 1000, 1),
      unit: 's (city, genesis and every replica)',
    };
    figures[`${key}.heightsPerSecond`] = {
      value: round(pace, 2),
      unit: 'heights/s (wall clock, after setup)',
    };
    figures[`${key}.timeFor${goalHeights}Heights`] = {
      value: round(timeForAll, 1),
      unit: measured
        ? 's (measured)'
        : r.heights === 0
          ? 's (stopped before the first height: at least this)'
          : `s (projected from ${r.heights} heights)`,
      goal: `≤ ${goalSeconds} s`,
      met: r.heights > 0 && timeForAll <= goalSeconds,
    };
    figures[`${key}.protocolMessagesPerHeight`] = {
      value: perHeight(protocolMessages(r)),
      unit: 'messages/height',
    };
    figures[`${key}.consensusMessagesPerHeight`] = {
      value: perHeight(r.messages.consensus),
      unit: 'messages/height',
    };
    figures[`${key}.peakMemory`] = { value: Math.round(r.maxRssBytes / 2 ** 20), unit: 'MiB RSS' };
    const m = r.messages;
    notes.push(
      `${key}: ${r.heights} heights in ${(r.wallMs / 1000).toFixed(1)} s (setup ${(r.setupMs / 1000).toFixed(1)} s); per height ${perHeight(m.consensus)} consensus + ${perHeight(m.dissemination)} dissemination + ${perHeight(m.attestation)} attestation + ${perHeight(m.sync)} sync; ${r.viewChanges} view changes; ${r.verified} verifications, ${r.cacheHits} shared-cache hits${r.safe ? '' : '; WARNING: a safety check failed'}; time went to:`,
      ...breakdownNotes(r.breakdown, 5).map((line) => `    ${line}`),
    );
  }

  const mlt = results.get('mlt100');
  const pbft = results.get('pbft100');
  if (mlt && pbft && (mlt.heights === 0 || pbft.heights === 0)) {
    notes.push(
      'no message comparison at 100 validators: a run did not complete a height within its budget',
    );
  } else if (mlt && pbft) {
    // Round after dividing, so that the goal is judged on the measured share.
    const share = (count: (r: ScaleRunResult) => number) =>
      count(mlt) / mlt.heights / (count(pbft) / pbft.heights);
    const protocolShare = share(protocolMessages);
    const consensusShare = share((r) => r.messages.consensus);
    figures['at100.mltShareOfPbftProtocolMessages'] = {
      value: round(protocolShare, 4),
      unit: 'multi-level trust ÷ flat PBFT, protocol messages per height',
      goal: `≤ 1/15 (${round(goalMessageShare, 4)})`,
      met: protocolShare <= goalMessageShare,
    };
    figures['at100.mltShareOfPbftConsensusMessages'] = {
      value: round(consensusShare, 4),
      unit: 'multi-level trust ÷ flat PBFT, consensus-category messages per height',
      goal: `≤ 1/15 (${round(goalMessageShare, 4)})`,
      met: consensusShare <= goalMessageShare,
    };
  }
  return { figures, notes };
}
