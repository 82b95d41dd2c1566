// The stepping API: a run driven one item at a time is the same run as `run()`, byte for byte,
// with or without observers; interventions (deliver early, drop) change the run, are recorded in
// the trace and leave everything else in its order; the message stream accounts for every copy.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultSimConfig } from '../../src/sim/config.ts';
import { EventQueue } from '../../src/sim/queue.ts';
import { Simulation, type SimMessage, type SimSummary } from '../../src/sim/simulator.ts';
import { configOf, type Overrides } from './helpers.ts';

function withoutWall(s: SimSummary): Omit<SimSummary, 'wallMs'> {
  const { wallMs: _, ...rest } = s;
  return rest;
}

const configs: [string, Overrides][] = [
  ['quiet honest network', { validators: 4, seed: 5, blocks: 8, txPerSecond: 0 }],
  [
    'equivocators on a lossy, duplicating network',
    {
      validators: 7,
      byzantine: 2,
      fault: 'equivocate',
      seed: 42,
      blocks: 8,
      network: { loss: 0.05, duplicate: 0.1, gstMs: 3_000 },
    },
  ],
  [
    'a crash, a restart without state and a partition',
    {
      validators: 4,
      byzantine: 1,
      fault: 'crash',
      seed: 2,
      blocks: 6,
      restarts: [{ validator: 2, crashAtMs: 800, restartAtMs: 3_000, keepState: false }],
      network: {
        partitions: [
          {
            groups: [
              [0, 1],
              [2, 3],
            ],
            startMs: 200,
            endMs: 1_500,
          },
        ],
      },
    },
  ],
  [
    'flat PBFT with twins and a joiner',
    {
      protocol: 'pbft',
      validators: 4,
      byzantine: 1,
      fault: 'twins',
      seed: 7,
      blocks: 6,
      joiners: 1,
    },
  ],
];

describe('stepping', () => {
  for (const [name, overrides] of configs) {
    it(`begin + stepOnce + finish is run(), byte for byte, even while observed: ${name}`, async () => {
      const config = configOf(overrides);
      const whole = await new Simulation(config).run();

      const seen: SimMessage[] = [];
      let events = 0;
      const sim = new Simulation(config, {
        onMessage: (m) => seen.push(m),
        onEvent: () => events++,
        onProgress: () => {},
      });
      sim.begin();
      let steps = 0;
      while (await sim.stepOnce()) {
        if (++steps % 50 === 0) {
          sim.pending();
          sim.traceHash();
          sim.summaryNow();
        }
      }
      expect(await sim.stepOnce()).toBe(false);
      const stepped = sim.finish();
      expect(stepped.traceHash).toBe(whole.traceHash);
      expect(withoutWall(stepped)).toEqual(withoutWall(whole));
      expect(sim.finish()).toBe(stepped);
      expect(sim.endReason()).toBe('finished');
      expect(seen.length).toBeGreaterThan(0);
      expect(events).toBeGreaterThan(0);
    });
  }

  it('keeps the trace the README prints (7 validators, 2 equivocators, seed 7, 40 blocks)', async () => {
    const sim = new Simulation({
      ...defaultSimConfig,
      validators: 7,
      byzantine: 2,
      fault: 'equivocate',
      seed: 7,
      blocks: 40,
    });
    sim.begin();
    while (await sim.stepOnce());
    expect(sim.finish().traceHash).toBe(
      '6ebf36dd5dd59a1183e3814f669451b3b3ca6eef669de60d1048948bf195bdd3',
    );
  }, 60_000);

  it('stops at the time limit without consuming the item due after it', async () => {
    const sim = new Simulation(configOf({ validators: 4, seed: 1, maxVirtualMs: 2_000 }));
    sim.begin();
    while (await sim.stepOnce());
    expect(sim.endReason()).toBe('time-limit');
    expect(sim.virtualTime).toBeLessThanOrEqual(2_000);
    const next = sim.pending()[0]!;
    expect(next.time).toBeGreaterThan(2_000);
    expect(sim.nextTime()).toBe(next.time);
  });

  it('refuses to step before begin() and to intervene after finish()', async () => {
    const sim = new Simulation(configOf({}));
    await expect(sim.stepOnce()).rejects.toThrow(/begin/);
    sim.begin();
    expect(() => sim.begin()).toThrow();
    const id = sim.pending()[0]!.id;
    sim.finish();
    expect(await sim.stepOnce()).toBe(false);
    expect(() => sim.drop(id)).toThrow(/finished/);
    await expect(sim.deliverNext(id)).rejects.toThrow(/finished/);
  });

  it('accounts for every message copy: sent, then delivered, lost or dropped exactly once', async () => {
    const seen: SimMessage[] = [];
    const sim = new Simulation(
      configOf({
        validators: 4,
        byzantine: 1,
        fault: 'drop',
        seed: 11,
        blocks: 6,
        restarts: [{ validator: 3, crashAtMs: 1_500, restartAtMs: 2_500, keepState: true }],
        network: {
          loss: 0.1,
          duplicate: 0.2,
          partitions: [{ groups: [[0], [1, 2, 3]], startMs: 1_900, endMs: 2_600 }],
        },
      }),
      { onMessage: (m) => seen.push(m) },
    );
    sim.begin();
    let steps = 0;
    while (await sim.stepOnce()) {
      // Now and then the user drops the next delivery.
      if (++steps % 97 === 0) {
        const d = sim.pending().find((p) => p.kind === 'deliver');
        if (d) expect(sim.drop(d.id)).toBe(true);
      }
    }
    const open = new Map<number, SimMessage>();
    const ends = { deliver: 0, lost: 0, dropped: 0 };
    const reasons = new Set<string>();
    for (const [i, m] of seen.entries()) {
      if (m.kind === 'send' && m.seq !== null) {
        expect(m.lost).toBeNull();
        expect(m.deliverAt).toBeGreaterThanOrEqual(m.at);
        expect(open.has(m.seq)).toBe(false);
        open.set(m.seq, m);
        continue;
      }
      if (m.kind === 'send') {
        // Lost as it was sent: the very next report says so.
        expect(m.lost).not.toBeNull();
        expect(seen[i + 1]).toEqual({ ...m, kind: 'lost' });
        reasons.add(m.lost!);
        continue;
      }
      if (m.seq === null) {
        expect(m.kind).toBe('lost');
        continue;
      }
      const sent = open.get(m.seq);
      expect(sent, `${m.kind} of ${m.seq} without a send`).toBeDefined();
      expect([sent!.from, sent!.to, sent!.type, sent!.height, sent!.view]).toEqual([
        m.from,
        m.to,
        m.type,
        m.height,
        m.view,
      ]);
      open.delete(m.seq);
      ends[m.kind as keyof typeof ends]++;
      if (m.kind === 'lost') reasons.add(m.lost!);
      if (m.kind === 'deliver') expect(m.at).toBe(sent!.deliverAt);
    }
    // Whatever is still open is still queued.
    const queued = new Set(sim.pending().map((p) => p.id));
    for (const seq of open.keys()) expect(queued.has(seq)).toBe(true);
    expect(ends.deliver).toBeGreaterThan(100);
    expect(ends.dropped).toBeGreaterThan(0);
    expect([...reasons].sort()).toEqual(['down', 'loss', 'partition', 'withheld']);
  });
});

describe('interventions', () => {
  const config = configOf({ validators: 4, seed: 3, blocks: 6 });

  /** A run stepped `n` times and then on until at least six deliveries wait. */
  async function steppedTo(n: number): Promise<Simulation> {
    const sim = new Simulation(config);
    sim.begin();
    for (let i = 0; i < n; i++) await sim.stepOnce();
    while (sim.pending().filter((p) => p.kind === 'deliver').length < 6) await sim.stepOnce();
    return sim;
  }

  it('deliverNext handles the item now, ahead of its turn, and leaves the others in order', async () => {
    const sim = await steppedTo(120);
    const plain = await steppedTo(120);
    const now = sim.virtualTime;
    const before = sim.pending();
    const pick = before.filter((p) => p.kind === 'deliver')[3]!;
    expect(pick.time).toBeGreaterThan(now);
    expect(await sim.deliverNext(pick.id)).toBe(true);
    expect(sim.virtualTime).toBe(now);
    const after = sim.pending();
    expect(after.some((p) => p.id === pick.id)).toBe(false);
    const waiting = new Set(before.map((p) => p.id));
    expect(after.filter((p) => waiting.has(p.id))).toEqual(before.filter((p) => p.id !== pick.id));
    expect(after.every((p) => p.time >= now)).toBe(true);
    expect(await sim.deliverNext(pick.id)).toBe(false);
    expect(sim.traceHash()).not.toBe(plain.traceHash());
    // The run goes on to the same kind of end (a late delivery is harmless here).
    while (await sim.stepOnce());
    const summary = sim.finish();
    expect(summary.safety.agreement).toBe(true);
    expect(summary.targetReached).toBe(true);
  });

  it('drop removes the item, is recorded in the trace and reported', async () => {
    const dropped: SimMessage[] = [];
    const sim = new Simulation(config, {
      onMessage: (m) => m.kind === 'dropped' && dropped.push(m),
    });
    sim.begin();
    const plain = await steppedTo(80);
    while (sim.virtualTime < plain.virtualTime || sim.pending().length !== plain.pending().length)
      await sim.stepOnce();
    expect(sim.traceHash()).toBe(plain.traceHash());
    const pick = sim.pending().find((p) => p.kind === 'deliver')!;
    expect(sim.pendingItem(pick.id)).toEqual(pick);
    expect(sim.drop(pick.id)).toBe(true);
    expect(sim.pendingItem(pick.id)).toBeNull();
    expect(sim.drop(pick.id)).toBe(false);
    expect(sim.traceHash()).not.toBe(plain.traceHash());
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({
      seq: pick.id,
      from: pick.from,
      to: pick.to,
      type: pick.type,
      at: sim.virtualTime,
    });
  });

  it('interventions are deterministic: the same ones give the same trace', async () => {
    const once = async () => {
      const sim = await steppedTo(60);
      const p = sim.pending().filter((x) => x.kind === 'deliver');
      sim.drop(p[0]!.id);
      await sim.deliverNext(p[5]!.id);
      for (let i = 0; i < 100; i++) await sim.stepOnce();
      return sim.traceHash();
    };
    expect(await once()).toBe(await once());
  });
});

describe('EventQueue', () => {
  it('pops in (time, insertion) order whatever is removed in between', () => {
    type Op = { op: 'push'; time: number } | { op: 'pop' } | { op: 'remove'; pick: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('push' as const), time: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ op: fc.constant('pop' as const) }),
      fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const q = new EventQueue<number>();
        let model: { time: number; seq: number }[] = [];
        let seq = 0;
        const sorted = () =>
          [...model].sort((a, b) => a.time - b.time || a.seq - b.seq).map((x) => x.seq);
        for (const o of ops) {
          if (o.op === 'push') {
            expect(q.push(o.time, seq)).toBe(seq);
            model.push({ time: o.time, seq: seq++ });
          } else if (o.op === 'pop') {
            const want = sorted()[0];
            expect(q.pop()?.seq).toBe(want);
            model = model.filter((x) => x.seq !== want);
          } else {
            const target = model.length === 0 ? 12_345 : model[o.pick % model.length]!.seq;
            expect(q.remove(target)?.seq).toBe(model.length === 0 ? undefined : target);
            model = model.filter((x) => x.seq !== target);
          }
          expect(q.size).toBe(model.length);
          expect(q.items().map((x) => x.seq)).toEqual(sorted());
        }
        const drained: number[] = [];
        for (let s = q.pop(); s; s = q.pop()) drained.push(s.seq);
        expect(drained).toEqual(sorted());
      }),
      { numRuns: 300, seed: 4 },
    );
  });
});
