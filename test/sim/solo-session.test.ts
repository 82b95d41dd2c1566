// Solo mode: one tab steps a whole simulated network. Going back replays from the seed and gives
// the very same state; interventions are part of the run and replay with it; a run travels as a
// short link that decodes defensively.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { faultModes } from '../../src/faults/index.ts';
import { validatorName } from '../../src/net/names.ts';
import { Simulation } from '../../src/sim/simulator.ts';
import {
  decodeRunSpec,
  encodeRunSpec,
  fromBase64Url,
  SoloSession,
  soloSimConfig,
  toBase64Url,
  type SoloConfig,
  type SoloObservation,
  type SoloRunSpec,
} from '../../src/solo/session.ts';

const config: SoloConfig = {
  protocol: 'mlt',
  validators: 4,
  byzantine: 1,
  fault: 'equivocate',
  seed: 3,
  txPerSecond: 2,
};

/** Everything a view can see of a session, to compare two of them. */
function stateOf(s: SoloSession) {
  return {
    snapshot: s.snapshot(),
    pending: s.pending(),
    trace: s.traceHash(),
    interventions: s.interventions,
    summary: { ...s.summary(), wallMs: 0 },
  };
}

async function sessionAt(c: SoloConfig, steps: number): Promise<SoloSession> {
  const s = new SoloSession(c);
  expect(await s.step(steps)).toBe(steps);
  return s;
}

/** Steps on until at least four deliveries wait (between blocks the network can be quiet). */
async function untilBusy(s: SoloSession): Promise<void> {
  while (s.pending().filter((p) => p.kind === 'deliver').length < 4) await s.step();
}

/** The k-th delivery waiting after the next few items (so delivering it early changes things). */
function laterDelivery(s: SoloSession, k = 2) {
  return s.pending().filter((p) => p.kind === 'deliver' && p.time > s.virtualTime)[k]!;
}

describe('SoloSession', () => {
  it('seek(k) then stepping to k + 10 is a fresh session stepped to k + 10', async () => {
    const s = await sessionAt(config, 250);
    for (const k of [0, 37, 120]) {
      await s.seek(k);
      expect(s.stepCount).toBe(k);
      await s.step(10);
      const fresh = await sessionAt(config, k + 10);
      expect(stateOf(s)).toEqual(stateOf(fresh));
    }
    // Forward seeks just step on.
    await s.seek(250);
    expect(stateOf(s)).toEqual(stateOf(await sessionAt(config, 250)));
  });

  it('deliverNext and drop change the run, and seek replays them identically', async () => {
    const s = await sessionAt(config, 90);
    await untilBusy(s);
    const first = s.stepCount;
    const plain = await sessionAt(config, first);
    const early = laterDelivery(s);
    expect(await s.deliverNext(early.id)).toBe(true);
    expect(s.stepCount).toBe(first + 1);
    await s.step(20);
    await untilBusy(s);
    const second = s.stepCount;
    const lost = s.pending().find((p) => p.kind === 'deliver')!;
    expect(await s.drop(lost.id)).toBe(true);
    expect(s.stepCount).toBe(second);
    await s.seek(300);
    expect(s.interventions).toEqual([
      { atStep: first, action: 'deliver', id: early.id },
      { atStep: second, action: 'drop', id: lost.id },
    ]);
    await plain.step(300 - first);
    expect(s.traceHash()).not.toBe(plain.traceHash());
    const at300 = stateOf(s);

    // Back before both interventions, then forward again: the timeline is replayed.
    await s.seek(50);
    expect(s.interventions).toEqual([]);
    expect(s.recordedInterventions).toHaveLength(2);
    expect(stateOf(s)).toEqual(stateOf(await sessionAt(config, 50)));
    await s.seek(300);
    expect(stateOf(s)).toEqual(at300);

    // At the step of the drop: the drop made after that step is part of it.
    await s.seek(second);
    expect(s.interventions).toHaveLength(2);
    expect(s.pending().some((p) => p.id === lost.id)).toBe(false);
    await s.seek(second - 1);
    expect(s.interventions).toHaveLength(1);

    // The spec, through a link, rebuilds the same session.
    await s.seek(300);
    const decoded = decodeRunSpec(encodeRunSpec(s.spec()));
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.value).toEqual(s.spec());
    const rebuilt = await SoloSession.fromSpec(decoded.value);
    expect(rebuilt.ok).toBe(true);
    if (rebuilt.ok) expect(stateOf(rebuilt.value)).toEqual(at300);
  });

  it('a new intervention behind the end of the timeline discards the rest of it', async () => {
    const s = await sessionAt(config, 60);
    await untilBusy(s);
    const first = s.stepCount;
    await s.drop(laterDelivery(s, 0).id);
    await s.step(40);
    await untilBusy(s);
    await s.drop(laterDelivery(s, 0).id);
    await s.step(10);
    await s.seek(first); // the drop made after step `first` is applied again
    expect(s.interventions).toHaveLength(1);
    expect(s.recordedInterventions).toHaveLength(2);
    const at = s.stepCount;
    const other = s.pending().filter((p) => p.kind === 'deliver')[1]!;
    expect(await s.deliverNext(other.id)).toBe(true);
    expect(s.recordedInterventions).toEqual([
      { atStep: first, action: 'drop', id: expect.any(Number) },
      { atStep: at, action: 'deliver', id: other.id },
    ]);
    // Delivering exactly what the timeline holds keeps the timeline.
    await s.step(5);
    await s.seek(at);
    expect(await s.deliverNext(other.id)).toBe(true);
    expect(s.recordedInterventions).toHaveLength(2);
    expect(await s.drop(123_456_789)).toBe(false);
    expect(await s.deliverNext(123_456_789)).toBe(false);
    expect(s.recordedInterventions).toHaveLength(2);
    await s.clearFuture();
    expect(s.recordedInterventions).toHaveLength(2);
    await s.seek(first);
    await s.clearFuture();
    expect(s.recordedInterventions).toHaveLength(1);
  });

  it('takes calls in turn: one made while another runs waits for it', async () => {
    const s = new SoloSession(config);
    const running = s.runFor(5_000);
    expect(s.busy).toBe(true);
    const more = s.step(5); // issued mid-run: handled after runFor, not interleaved with it
    const dropped = s.step(0).then(async () => {
      const d = s.pending().find((p) => p.kind === 'deliver' || p.kind === 'timer')!;
      return s.drop(d.id);
    });
    const taken = await running;
    expect(await more).toBe(5);
    expect(await dropped).toBe(true);
    expect(s.busy).toBe(false);
    expect(s.stepCount).toBe(taken + 5);

    const serial = new SoloSession(config);
    await serial.runFor(5_000);
    await serial.step(5);
    const d = serial.pending().find((p) => p.kind === 'deliver' || p.kind === 'timer')!;
    await serial.drop(d.id);
    expect(stateOf(s)).toEqual(stateOf(serial));
    const again = await SoloSession.fromSpec(s.spec());
    expect(again.ok && stateOf(again.value)).toEqual(stateOf(s));
  });

  it('runFor steps through what is due in a window of virtual time', async () => {
    const s = new SoloSession(config);
    const taken = await s.runFor(3_000);
    expect(taken).toBeGreaterThan(10);
    expect(s.virtualTime).toBeLessThanOrEqual(3_000);
    expect(s.pending()[0]!.time).toBeGreaterThan(3_000);
    expect(await s.runFor(10_000, 7)).toBe(7);
    expect(stateOf(s)).toEqual(stateOf(await sessionAt(config, taken + 7)));
  });

  it('tells the views what happens, and resets them after going back', async () => {
    const s = new SoloSession(config);
    const seen: SoloObservation[] = [];
    const stop = s.subscribe((o) => seen.push(o));
    await s.step(200);
    const kinds = new Set(seen.map((o) => (o.kind === 'message' ? o.message.kind : o.kind)));
    expect([...kinds].sort()).toEqual(['deliver', 'event', 'send']);
    const phases = new Set(seen.flatMap((o) => (o.kind === 'message' ? [o.message.type] : [])));
    for (const phase of ['pre-prepare', 'prepare', 'commit'])
      expect(phases.has(phase as never)).toBe(true);
    expect(seen.every((o) => o.step >= 1 && o.step <= 200)).toBe(true);
    expect(s.recent()).toEqual(seen);
    await untilBusy(s);
    expect(s.recent()).toEqual(seen);
    const d = s.pending().find((p) => p.kind === 'deliver')!;
    await s.drop(d.id);
    expect(seen.at(-1)).toMatchObject({
      kind: 'message',
      step: s.stepCount,
      message: { kind: 'dropped', seq: d.id },
    });
    const count = seen.length;
    await s.seek(100);
    expect(seen.slice(count)).toEqual([{ kind: 'reset', step: 100 }]);
    expect(s.recent().every((o) => o.step <= 100)).toBe(true);
    stop();
    await s.step(5);
    expect(seen.length).toBe(count + 1);
  });

  it('snapshots every validator with its name, fault, tier, trust and the primary', async () => {
    const s = await sessionAt({ ...config, validators: 7, byzantine: 2 }, 400);
    const snap = s.snapshot();
    expect(snap.step).toBe(400);
    expect(snap.validators).toHaveLength(7);
    expect(snap.validators.filter((v) => v.isPrimary)).toHaveLength(1);
    expect(snap.validators.filter((v) => v.fault === 'equivocate')).toHaveLength(2);
    expect(snap.validators.filter((v) => v.fault === null)).toHaveLength(5);
    for (const [i, v] of snap.validators.entries()) {
      expect(v.index).toBe(i);
      expect(v.name).toBe(validatorName(v.id));
      expect(v.tier).toBe('core');
      const trust = v.trust ?? -1;
      expect(Number.isInteger(trust) && trust >= 0 && trust <= 1000, `trust ${v.trust}`).toBe(true);
      // An equivocator caught in this first epoch is at trust 0, still Core until the epoch turns.
      if (v.fault === null) expect(v.trust).toBeGreaterThan(0);
      expect(v.headHash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(snap.height).toBeGreaterThan(0);
    expect(snap.over).toBeNull();
  });

  it('dropping every message to one validator looks like a crash of it', async () => {
    const c: SoloConfig = { ...config, byzantine: 0, fault: 'none', seed: 9 };
    const victim = 2;
    const s = new SoloSession(c);
    let delivered = 0;
    s.subscribe((o) => {
      if (o.kind === 'message' && o.message.kind === 'deliver' && o.message.toEndpoint === victim)
        delivered++;
    });
    const until = 12_000;
    while (s.virtualTime < until) {
      for (const p of s.pending())
        if ((p.kind === 'deliver' || p.kind === 'submit') && p.toEndpoint === victim)
          await s.drop(p.id);
      await s.step();
    }
    expect(delivered).toBe(0);
    const snap = s.snapshot();
    const others = snap.validators.filter((v) => v.index !== victim);
    expect(snap.validators[victim]!.height).toBe(0);
    expect(Math.min(...others.map((v) => v.height))).toBeGreaterThan(10);
    expect(new Set(others.map((v) => v.headHash)).size).toBeLessThanOrEqual(2); // at most one height apart
    const victimId = snap.validators[victim]!.id;
    const blocks = s.simulation.referenceReplica().blocks;
    expect(blocks.some((b) => b.certificate.signatures.some((x) => x.signer === victimId))).toBe(
      false,
    );

    // The same network with the victim crashed from the start: the same verdict on trust.
    const crashed = new Simulation({
      ...soloSimConfig(c),
      maxVirtualMs: until,
      restarts: [{ validator: victim, crashAtMs: 0, restartAtMs: 1e12, keepState: true }],
    });
    await crashed.run();
    const verdict = (trust: readonly number[], tiers: readonly (string | null)[]) => ({
      victimLowest: trust.every((t, i) => i === victim || t > 4 * trust[victim]!),
      tiers,
    });
    const registry = crashed.referenceReplica().chain.validators;
    const whenCrashed = crashed.endpoints.map((e) => registry.get(e.node.replica.id)!);
    expect(
      verdict(
        snap.validators.map((v) => v.trust!),
        snap.validators.map((v) => v.tier),
      ),
    ).toEqual(
      verdict(
        whenCrashed.map((v) => v.trust),
        whenCrashed.map((v) => v.tier),
      ),
    );
    expect(
      verdict(
        whenCrashed.map((v) => v.trust),
        [],
      ).victimLowest,
    ).toBe(true);
  }, 60_000);

  it('refuses bad configurations and specs that do not replay', async () => {
    expect(() => new SoloSession({ ...config, validators: 0 })).toThrow(RangeError);
    expect(() => new SoloSession({ ...config, fault: 'none' })).toThrow(RangeError);
    expect(() => new SoloSession({ ...config, txPerSecond: 1.5 })).toThrow(RangeError);
    const bad = await SoloSession.fromSpec({
      config,
      interventions: [{ atStep: 3, action: 'drop', id: 999_999 }],
      step: 10,
    });
    expect(bad).toMatchObject({ ok: false, reason: expect.stringMatching(/not queued/) });
    const disordered = await SoloSession.fromSpec({
      config,
      interventions: [
        { atStep: 3, action: 'deliver', id: 5 },
        { atStep: 3, action: 'drop', id: 6 },
      ],
      step: 10,
    });
    expect(disordered.ok).toBe(false);
  });
});

describe('run specs', () => {
  const soloConfig: fc.Arbitrary<SoloConfig> = fc
    .record({
      protocol: fc.constantFrom('mlt' as const, 'pbft' as const),
      validators: fc.integer({ min: 1, max: 100 }),
      byzantineShare: fc.double({ min: 0, max: 1, noNaN: true }),
      fault: fc.constantFrom(...faultModes.filter((m) => m !== 'none')),
      seed: fc.integer({ min: 0, max: 0x7fffffff }),
      txPerSecond: fc.integer({ min: 0, max: 1_000 }),
    })
    .map(({ byzantineShare, ...c }) => {
      const byzantine = Math.floor(byzantineShare * c.validators);
      return { ...c, byzantine, fault: byzantine === 0 ? 'none' : c.fault };
    });
  const timeline = fc
    .array(
      fc.record({
        gap: fc.integer({ min: 0, max: 5_000 }),
        drop: fc.boolean(),
        id: fc.integer({ min: 0, max: 0x7fffffff }),
      }),
      { maxLength: 40 },
    )
    .map((items) => {
      let floor = 0;
      return items.map(({ gap, drop, id }) => {
        const atStep = floor + gap;
        floor = drop ? atStep : atStep + 1;
        return { atStep, action: drop ? ('drop' as const) : ('deliver' as const), id };
      });
    });
  const spec: fc.Arbitrary<SoloRunSpec> = fc.record({
    config: soloConfig,
    interventions: timeline,
    step: fc.integer({ min: 0, max: 10_000_000 }),
  });

  it('round-trip through a URL-safe text', () => {
    fc.assert(
      fc.property(spec, (s) => {
        const text = encodeRunSpec(s);
        expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
        const back = decodeRunSpec(text);
        expect(back).toEqual({ ok: true, value: s });
        expect(encodeRunSpec(JSON.parse(JSON.stringify(s)) as SoloRunSpec)).toBe(text);
      }),
      { numRuns: 500, seed: 11 },
    );
  });

  it('stay short', () => {
    const text = encodeRunSpec({
      config,
      interventions: [...Array(20).keys()].map((k) => ({
        atStep: 100 + 7 * k,
        action: k % 3 === 0 ? ('deliver' as const) : ('drop' as const),
        id: 400 + 9 * k,
      })),
      step: 300,
    });
    expect(text.length).toBeLessThan(120);
  });

  it('reject garbage without throwing', () => {
    const inputs: unknown[] = [
      undefined,
      null,
      42,
      {},
      '',
      '!!!',
      'A',
      'AB',
      'a'.repeat(300_000),
      toBase64Url(new Uint8Array([0xff])),
      toBase64Url(new Uint8Array([0x80])), // CBOR []
    ];
    for (const input of inputs) expect(decodeRunSpec(input).ok).toBe(false);
    const valid = encodeRunSpec({ config, interventions: [], step: 5 });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.uint8Array({ maxLength: 200 }).map(toBase64Url),
          // Single-character edits of a valid spec.
          fc
            .tuple(
              fc.nat(),
              fc.constantFrom(
                ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/',
              ),
            )
            .map(([i, ch]) => {
              const k = i % valid.length;
              return valid.slice(0, k) + ch + valid.slice(k + 1);
            }),
          fc.nat({ max: valid.length }).map((n) => valid.slice(0, n)),
        ),
        (text) => {
          const r = decodeRunSpec(text);
          // Whatever decodes is a valid spec with exactly this text.
          if (r.ok) expect(encodeRunSpec(r.value)).toBe(text);
          else expect(typeof r.reason).toBe('string');
        },
      ),
      { numRuns: 2_000, seed: 12 },
    );
  });

  it('base64url text and bytes map one to one', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes);
      }),
      { seed: 13 },
    );
    expect(fromBase64Url('AB')).toBeNull(); // stray bits set
    expect(fromBase64Url('AA')).toEqual(new Uint8Array([0]));
    expect(fromBase64Url('AAAAA')).toBeNull(); // impossible length
  });
});
