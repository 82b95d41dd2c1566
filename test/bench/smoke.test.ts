// Benchmark smoke test: `npm run bench -- --quick` runs sections 1–3 and writes valid JSON, and a
// bad flag is one line and exit code 2. It checks the shape of the results, never their speed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const tsx = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
const runner = new URL('../../bench/run.ts', import.meta.url).pathname;
const repoRoot = new URL('../..', import.meta.url).pathname;

function bench(args: string[], timeoutMs: number) {
  return spawnSync(tsx, [runner, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
}

describe('npm run bench', () => {
  it('runs the quick sections 1–3 and writes one JSON object with units on every figure', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tierbft-bench-')), 'latest.json');
    // About 40 s on an idle 2-core machine; the limit leaves room for a busy one.
    const r = bench(['--quick', '--only', 'crypto,throughput,scale', '--out', out], 170_000);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('== 1. Crypto limit');
    const result = JSON.parse(readFileSync(out, 'utf8'));
    expect(result.quick).toBe(true);
    expect(Number.isNaN(Date.parse(result.date))).toBe(false);
    expect(result.machine).toMatchObject({
      cpu: expect.any(String),
      cores: expect.any(Number),
      node: process.version,
      platform: expect.any(String),
    });
    expect(result.machine).toHaveProperty('chromium');
    expect(result.live).toEqual({ skipped: expect.any(String) });
    for (const name of ['crypto', 'throughput', 'scale']) {
      const section = result[name];
      expect(section, name).toHaveProperty('figures');
      expect(Array.isArray(section.notes), name).toBe(true);
      const figures = Object.entries(section.figures) as [string, Record<string, unknown>][];
      expect(figures.length, name).toBeGreaterThan(0);
      for (const [figure, f] of figures) {
        expect(Number.isFinite(f.value), `${name}.${figure}`).toBe(true);
        expect(typeof f.unit, `${name}.${figure}`).toBe('string');
        if ('goal' in f) expect(typeof f.met, `${name}.${figure}`).toBe('boolean');
      }
    }
    expect(result.crypto.figures).toHaveProperty('nativeOneCore');
    expect(result.crypto.figures).toHaveProperty('nobleOneCore');
    expect(result.crypto.figures).toHaveProperty('verifyBest');
    expect(result.throughput.figures).toHaveProperty('ratioToNativeLimit');
    expect(result.scale.figures).toHaveProperty(['pbft16.protocolMessagesPerHeight']);
  }, 180_000);

  it('rejects a bad flag with one line and exit code 2', () => {
    for (const args of [['--fast'], ['--only', 'crypto,warp']]) {
      const r = bench(args, 30_000);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  }, 60_000);
});
