// The command line as a user meets it: one JSON object with --json, a one-line error and exit
// code 2 for a bad flag.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const tsx = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
const cli = new URL('../../src/sim/cli.ts', import.meta.url).pathname;
function sim(args: string[]) {
  return spawnSync(tsx, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('npm run sim', () => {
  it('prints exactly one JSON object with the documented fields', () => {
    const r = sim([
      '--validators',
      '4',
      '--byzantine',
      '1',
      '--fault',
      'silent',
      '--seed',
      '3',
      '--blocks',
      '6',
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const s = JSON.parse(lines[0]!);
    for (const key of [
      'protocol',
      'validators',
      'byzantine',
      'fault',
      'seed',
      'height',
      'safety',
      'payments',
      'tiers',
      'byzantineIds',
      'messages',
      'viewChanges',
      'latency',
      'wallMs',
    ]) {
      expect(s, key).toHaveProperty(key);
    }
    expect(s).toMatchObject({
      protocol: 'mlt',
      validators: 4,
      byzantine: 1,
      fault: 'silent',
      seed: 3,
    });
    expect(s.height).toBeGreaterThanOrEqual(6);
    expect(Object.keys(s.safety)).toEqual(
      expect.arrayContaining(['agreement', 'forks', 'invariantViolations']),
    );
    expect(Object.keys(s.payments)).toEqual(
      expect.arrayContaining(['submitted', 'committed', 'settled', 'rejected']),
    );
    expect(Object.keys(s.tiers).sort()).toEqual(['candidate', 'core', 'observer', 'quarantined']);
    expect(Object.keys(s.messages)).toEqual(expect.arrayContaining(['total', 'perHeight']));
    expect(Object.keys(s.latency)).toEqual(['p50', 'p99']);
    expect(s.byzantineIds).toHaveLength(1);
  });

  it('prints a summary longer than a pipe holds whole (it was cut at 64 KiB)', () => {
    // Through a shell pipe, as `npm run sim -- --json | jq` reads it.
    const r = spawnSync(
      'sh',
      ['-c', `"${tsx}" "${cli}" --validators 600 --blocks 1 --json | cat`],
      {
        encoding: 'utf8',
        timeout: 60_000,
        maxBuffer: 1 << 24,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(65_536);
    expect(JSON.parse(r.stdout).validators).toBe(600);
  });

  it('reports a liveness failure by the height it reached', () => {
    const r = sim([
      '--validators',
      '4',
      '--byzantine',
      '2',
      '--fault',
      'crash',
      '--seed',
      '1',
      '--blocks',
      '50',
      '--max-time',
      '8000',
      '--json',
    ]);
    const s = JSON.parse(r.stdout);
    expect(s.targetReached).toBe(false);
    expect(s.height).toBeLessThan(50);
  });

  for (const [args, message] of [
    [['--bogus'], /Unknown option/],
    [['--validators', '3', '--byzantine', '4', '--fault', 'silent'], /exceeds --validators/],
    [['--validators', '0'], /--validators/],
    [['--fault', 'nope', '--byzantine', '1'], /unknown fault 'nope'/],
    [['--protocol', 'raft'], /unknown protocol/],
    [['--loss', '0.9'], /--loss/],
    [['--partition', 'x'], /--partition/],
    [['--seed', 'abc'], /--seed expects an integer/],
  ] as const) {
    it(`rejects ${args.join(' ')} with one line and exit code 2`, () => {
      const r = sim([...args]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    });
  }
});
