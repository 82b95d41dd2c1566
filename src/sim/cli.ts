// `npm run sim -- [flags]`: runs one deterministic simulation and prints a readable summary (with
// progress on stderr) or, with --json, exactly one JSON object on stdout. Bad flags: a one-line
// error and exit code 2.

import { parseArgs } from 'node:util';
import { faultModes, type FaultMode } from '../faults/index.ts';
import {
  configErrors,
  defaultNetwork,
  defaultSimConfig,
  type Partition,
  type Restart,
  type SimConfig,
} from './config.ts';
import { simulate, type SimSummary } from './simulator.ts';
import { exitWhenFlushed } from './exit.ts';

const usage = `usage: npm run sim -- [flags]
  --validators N         validators at genesis (default 4)
  --byzantine K          how many of them misbehave (default 0)
  --fault MODE           ${faultModes.join(' | ')}
  --protocol P           mlt (multi-level trust, default) | pbft (flat baseline)
  --seed S               run seed (default 1)
  --blocks B             run until every honest validator committed B heights (default 20)
  --max-time MS          virtual-time limit (default 300000)
  --partition SPEC       e.g. "0,1|2,3@2000-6000": groups of validator indices, from-to virtual ms (repeatable)
  --restart SPEC         e.g. "2@3000-8000" or "2@3000-8000:amnesia" (crash, restart; repeatable)
  --loss P               message loss 0-0.3      --duplicate P   duplication 0-0.5
  --latency MIN-MAX      one-way latency in ms (default 5-40)
  --gst MS               global stabilisation time: loss and long delays only before it
  --joiners J            honest newcomers that join after the start
  --leavers L            the last L validators send validator-leave after the start
  --max-core N           Core committee size cap (default 16; smaller leaves room for Candidates)
  --tx-rate R            city transactions per virtual second (default 20)
  --traffic-until MS     stop submitting at this virtual time
  --households H         households in the city (default 12)
  --block-interval MS    heartbeat interval (default 1000)
  --epoch-length L       heights per epoch (default 8)
  --no-shared-cache      each replica verifies every signature itself
  --json                 print one JSON object
  --help`;

class UsageError extends Error {}

function int(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) throw new UsageError(`${name} expects an integer, got '${value}'`);
  return Number(value);
}

function num(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`${name} expects a number, got '${value}'`);
  return n;
}

function parsePartition(spec: string): Partition {
  const m = /^([\d,|]+)@(\d+)-(\d+)$/.exec(spec);
  if (!m)
    throw new UsageError(
      `--partition expects GROUPS@FROM-TO like "0,1|2,3@2000-6000", got '${spec}'`,
    );
  const groups = m[1]!.split('|').map((g) =>
    g
      .split(',')
      .filter((x) => x !== '')
      .map(Number),
  );
  if (groups.length < 2 || groups.some((g) => g.length === 0))
    throw new UsageError(`--partition needs at least two non-empty groups, got '${spec}'`);
  return { groups, startMs: Number(m[2]), endMs: Number(m[3]) };
}

function parseRestart(spec: string): Restart {
  const m = /^(\d+)@(\d+)-(\d+)(:amnesia)?$/.exec(spec);
  if (!m)
    throw new UsageError(
      `--restart expects V@CRASH-RESTART[:amnesia] like "2@3000-8000", got '${spec}'`,
    );
  return {
    validator: Number(m[1]),
    crashAtMs: Number(m[2]),
    restartAtMs: Number(m[3]),
    keepState: m[4] === undefined,
  };
}

export function parseCli(argv: readonly string[]): { config: SimConfig; json: boolean } | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        validators: { type: 'string' },
        byzantine: { type: 'string' },
        fault: { type: 'string' },
        protocol: { type: 'string' },
        seed: { type: 'string' },
        blocks: { type: 'string' },
        'max-time': { type: 'string' },
        partition: { type: 'string', multiple: true },
        restart: { type: 'string', multiple: true },
        loss: { type: 'string' },
        duplicate: { type: 'string' },
        latency: { type: 'string' },
        gst: { type: 'string' },
        joiners: { type: 'string' },
        leavers: { type: 'string' },
        'max-core': { type: 'string' },
        'tx-rate': { type: 'string' },
        'traffic-until': { type: 'string' },
        households: { type: 'string' },
        'block-interval': { type: 'string' },
        'epoch-length': { type: 'string' },
        'no-shared-cache': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const fault = (v.fault ??
    (int('--byzantine', v.byzantine, 0) > 0 ? 'crash' : 'none')) as FaultMode;
  if (!faultModes.includes(fault))
    throw new UsageError(`unknown fault '${fault}' (one of: ${faultModes.join(', ')})`);
  const protocol = v.protocol ?? 'mlt';
  if (protocol !== 'mlt' && protocol !== 'pbft')
    throw new UsageError(`unknown protocol '${protocol}' (mlt or pbft)`);
  let latencyMinMs = defaultNetwork.latencyMinMs;
  let latencyMaxMs = defaultNetwork.latencyMaxMs;
  if (v.latency !== undefined) {
    const m = /^(\d+)-(\d+)$/.exec(v.latency);
    if (!m) throw new UsageError(`--latency expects MIN-MAX in ms, got '${v.latency}'`);
    latencyMinMs = Number(m[1]);
    latencyMaxMs = Number(m[2]);
  }
  const overrides: Record<string, number> = {};
  if (v['block-interval'] !== undefined)
    overrides.blockIntervalMs = int('--block-interval', v['block-interval'], 1_000);
  if (v['epoch-length'] !== undefined)
    overrides.epochLength = int('--epoch-length', v['epoch-length'], 8);
  if (v['max-core'] !== undefined) overrides.maxCore = int('--max-core', v['max-core'], 16);
  if ((overrides.maxCore ?? 1) < 1) throw new UsageError('--max-core must be at least 1');
  if ((overrides.blockIntervalMs ?? 1) < 1)
    throw new UsageError('--block-interval must be at least 1');
  if ((overrides.epochLength ?? 1) < 1) throw new UsageError('--epoch-length must be at least 1');
  const config: SimConfig = {
    ...defaultSimConfig,
    protocol,
    validators: int('--validators', v.validators, defaultSimConfig.validators),
    byzantine: int('--byzantine', v.byzantine, 0),
    fault,
    seed: int('--seed', v.seed, defaultSimConfig.seed),
    blocks: int('--blocks', v.blocks, defaultSimConfig.blocks),
    maxVirtualMs: int('--max-time', v['max-time'], defaultSimConfig.maxVirtualMs),
    joiners: int('--joiners', v.joiners, 0),
    leavers: int('--leavers', v.leavers, 0),
    households: int('--households', v.households, defaultSimConfig.households),
    txPerSecond: num('--tx-rate', v['tx-rate'], defaultSimConfig.txPerSecond),
    trafficUntilMs: int('--traffic-until', v['traffic-until'], defaultSimConfig.trafficUntilMs),
    network: {
      ...defaultNetwork,
      latencyMinMs,
      latencyMaxMs,
      loss: num('--loss', v.loss, 0),
      duplicate: num('--duplicate', v.duplicate, 0),
      gstMs: int('--gst', v.gst, 0),
      partitions: (v.partition ?? []).map(parsePartition),
    },
    restarts: (v.restart ?? []).map(parseRestart),
    protocolOverrides: overrides,
    sharedVerificationCache: !v['no-shared-cache'],
  };
  const errors = configErrors(config);
  if (errors.length > 0) throw new UsageError(errors[0]!);
  return { config, json: v.json ?? false };
}

function short(id: string): string {
  return id.slice(0, 8);
}

export function formatSummary(s: SimSummary): string {
  const lines = [
    `${s.protocol.toUpperCase()} · ${s.validators} validators · ${s.byzantine} Byzantine (${s.fault}) · seed ${s.seed}`,
    `height        ${s.height}${s.targetReached ? '' : '  ← target NOT reached within the time limit (liveness failure)'}  after ${(s.virtualMs / 1000).toFixed(1)} s virtual, ${s.wallMs} ms wall`,
    `safety        ${s.safety.agreement ? 'agreement holds' : `FORK at ${s.safety.forks} height(s)`}; committee agreement ${s.safety.committeeAgreement ? 'holds' : 'BROKEN'}; validity ${s.safety.validity ? 'holds' : 'BROKEN'}; ledger invariants ${s.safety.invariantViolations.length === 0 ? 'hold' : `VIOLATED: ${s.safety.invariantViolations.slice(0, 3).join('; ')}`}; ${s.safety.accountability ? 'no honest validator convicted' : `HONEST VALIDATOR CONVICTED: ${s.safety.honestConvicted.map((id) => id.slice(0, 8)).join(', ')}`}`,
    `payments      ${s.payments.submitted} submitted, ${s.payments.committed} committed, ${s.payments.settled} final (${s.payments.highValueSettled}/${s.payments.highValueCommitted} high-value settled at level 2), ${s.payments.rejected} rejected`,
    `transactions  ${s.transactions.submitted} submitted, ${s.transactions.committed} committed, ${s.transactions.rejected} rejected, ${s.transactions.validPending} valid still pending, ${s.transactions.wrongOutcome} with a wrong outcome`,
    `latency       p50 ${s.latency.p50 ?? '–'} ms, p99 ${s.latency.p99 ?? '–'} ms (virtual, submission → commit)`,
    `messages      ${s.messages.total} total, ${s.messages.perHeight} per height (consensus ${s.messages.consensusPerHeight}); ${s.messages.dropped} dropped as invalid`,
    `view changes  ${s.viewChanges}; evidence committed ${s.evidenceCommitted}`,
    `tiers         core ${s.tiers.core.length} · candidate ${s.tiers.candidate.length} · observer ${s.tiers.observer.length} · quarantined ${s.tiers.quarantined.length}`,
  ];
  for (const [tier, ids] of Object.entries(s.tiers)) {
    if (ids.length > 0 && ids.length <= 20)
      lines.push(
        `  ${tier.padEnd(12)}${ids.map((id: string) => `${short(id)}${s.byzantineIds.includes(id) ? '*' : ''}(${s.trust[id]})`).join(' ')}`,
      );
  }
  if (s.byzantineIds.length > 0) lines.push(`  (* Byzantine; trust in parentheses)`);
  lines.push(
    `verification  ${s.verification.verified} signatures verified, ${s.verification.cacheHits} cache hits${s.verification.sharedCache ? ' (one cache shared by all replicas)' : ''}`,
  );
  lines.push(`trace         ${s.traceHash}`);
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCli(argv);
  } catch (error) {
    if (error instanceof UsageError || error instanceof RangeError) {
      process.stderr.write(`sim: ${error.message} (see --help)\n`);
      return 2;
    }
    throw error;
  }
  if (parsed === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const { config, json } = parsed;
  const progress = !json && process.stderr.isTTY;
  const summary = await simulate(config, {
    onProgress: (p) => {
      if (!json && (progress || p.virtualMs % 10_000 < 1_000))
        process.stderr.write(
          `${progress ? '\r' : ''}  … ${(p.virtualMs / 1000).toFixed(0)} s virtual, height ${p.height}/${p.target}${progress ? '   ' : '\n'}`,
        );
    },
  });
  if (progress) process.stderr.write('\r\x1b[K');
  process.stdout.write(json ? `${JSON.stringify(summary)}\n` : `${formatSummary(summary)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(exitWhenFlushed, (error: unknown) => {
  process.stderr.write(`sim: ${(error as Error).stack ?? String(error)}\n`);
  exitWhenFlushed(1);
});
