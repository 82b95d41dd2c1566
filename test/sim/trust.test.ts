// Trust tiers in motion: offenders are quarantined within two epochs of their evidence being
// committed, sleepers are caught once they attack, and honest newcomers climb to Core.
import { describe, expect, it } from 'vitest';
import type { ReplicaEvent } from '../../src/protocol/types.ts';
import type { Simulation } from '../../src/sim/simulator.ts';
import { runSim } from './helpers.ts';

/** The events one honest endpoint (the reference) emitted, with the height it was at. */
function honestEvents(sim: Simulation): { event: ReplicaEvent; height: number }[] {
  const reference = sim.endpoints.find((e) => !e.byzantine)!.index;
  const out: { event: ReplicaEvent; height: number }[] = [];
  let height = 0;
  for (const { endpoint, event } of sim.recordedEvents) {
    if (endpoint !== reference) continue;
    if (event.type === 'commit') height = event.height;
    out.push({ event, height });
  }
  return out;
}

describe('quarantine', () => {
  for (const fault of ['equivocate', 'invalid-proposal'] as const) {
    it(`a core member that does '${fault}' is quarantined within two epochs of its evidence being committed`, async () => {
      const { sim, summary } = await runSim({
        validators: 7,
        byzantine: 2,
        fault,
        seed: 11,
        blocks: 40,
        keepTrace: true,
      });
      expect(summary.safety.agreement).toBe(true);
      const epochLength = sim.genesis.config.epochLength;
      const events = honestEvents(sim);
      for (const offender of summary.byzantineIds) {
        const evidence = events.find(
          (x) =>
            x.event.type === 'evidence' &&
            x.event.stage === 'committed' &&
            x.event.offender === offender,
        );
        expect(evidence, `evidence against ${offender.slice(0, 8)} committed`).toBeDefined();
        const quarantined = events.find(
          (x) =>
            x.event.type === 'tier-change' &&
            x.event.id === offender &&
            x.event.to === 'quarantined',
        );
        expect(quarantined, `${offender.slice(0, 8)} quarantined`).toBeDefined();
        expect(quarantined!.height - evidence!.height).toBeLessThanOrEqual(2 * epochLength);
      }
    });
  }

  // One equivocator among four sends its bogus commits to half of the others and its real ones to
  // the rest: no honest member sees both directly, but the certificate carried in the next block
  // holds the real one. Each seed must see the evidence committed within the first epoch.
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`a lone equivocating voter among four is caught from a carried certificate (seed ${seed})`, async () => {
      const { sim, summary } = await runSim({
        validators: 4,
        byzantine: 1,
        fault: 'equivocate',
        seed,
        blocks: 24,
        keepTrace: true,
      });
      expect(summary.safety.agreement).toBe(true);
      const [offender] = summary.byzantineIds;
      const committed = honestEvents(sim).find(
        (x) =>
          x.event.type === 'evidence' &&
          x.event.stage === 'committed' &&
          x.event.offender === offender,
      );
      expect(committed, 'evidence committed').toBeDefined();
      expect(committed!.height).toBeLessThanOrEqual(sim.genesis.config.epochLength);
      expect(summary.tiers.quarantined).toContain(offender);
    });
  }

  it('a sleeper earns Core, attacks, is quarantined, and agreement holds', async () => {
    const { sim, summary } = await runSim({
      validators: 7,
      byzantine: 2,
      fault: 'sleeper',
      seed: 5,
      blocks: 56,
      keepTrace: true,
    });
    expect(summary.safety.agreement).toBe(true);
    expect(summary.safety.invariantViolations).toEqual([]);
    const events = honestEvents(sim);
    for (const sleeper of summary.byzantineIds) {
      const promoted = events.findIndex(
        (x) => x.event.type === 'tier-change' && x.event.id === sleeper && x.event.to === 'core',
      );
      const caught = events.findIndex(
        (x) =>
          x.event.type === 'evidence' &&
          x.event.stage === 'committed' &&
          x.event.offender === sleeper,
      );
      const quarantined = events.findIndex(
        (x) =>
          x.event.type === 'tier-change' && x.event.id === sleeper && x.event.to === 'quarantined',
      );
      expect(promoted, 'the sleeper first reached Core').toBeGreaterThanOrEqual(0);
      expect(caught, 'its attack was proven').toBeGreaterThan(promoted);
      expect(quarantined, 'and it was quarantined').toBeGreaterThan(caught);
    }
  });
});

describe('honest newcomers', () => {
  it('join as Observers and climb to Core by behaving well', async () => {
    const { sim, summary } = await runSim({
      validators: 4,
      joiners: 2,
      seed: 2,
      blocks: 48,
      txPerSecond: 5,
      keepTrace: true,
    });
    expect(summary.safety.agreement).toBe(true);
    const events = honestEvents(sim).map((x) => x.event);
    const joined = events
      .filter(
        (e): e is Extract<ReplicaEvent, { type: 'tier-change' }> =>
          e.type === 'tier-change' && e.reason === 'joined',
      )
      .map((e) => e.id);
    expect(joined).toHaveLength(2);
    for (const id of joined) {
      const moves = events.filter(
        (e): e is Extract<ReplicaEvent, { type: 'tier-change' }> =>
          e.type === 'tier-change' && e.id === id,
      );
      const path = moves.map((e) => e.to);
      expect(path[0]).toBe('observer');
      expect(path).toContain('core');
      expect(summary.tiers.core).toContain(id);
      // Each climb says what the chain recorded: an Observer earns it by attesting.
      for (const m of moves.slice(1)) {
        expect(m.reason).toBe('trust-rose');
        expect(m.tally).not.toBeNull();
        if (m.from === 'observer') expect(m.tally!.attestations).toBeGreaterThan(0);
        expect(m.tally!.signed).toBeLessThanOrEqual(m.tally!.certificates);
      }
    }
  });
});
