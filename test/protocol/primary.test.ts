// DESIGN.md §4.2 step 1: the primary of (height, view) is chosen deterministically, weighted by
// trust in multi-level trust mode (Tendermint-style proposer priority) and round robin in flat
// PBFT, and a view change moves to the next entry of the schedule.
import { describe, expect, it } from 'vitest';
import { SignatureVerifier } from '../../src/crypto/verify.ts';
import { createCity } from '../../src/ledger/city.ts';
import { Chain } from '../../src/protocol/chain.ts';
import { ProposerSchedule } from '../../src/protocol/primary.ts';
import { blockHash, signVote } from '../../src/protocol/signing.ts';
import {
  defaultProtocolConfig,
  type Block,
  type CommitCertificate,
  type Genesis,
} from '../../src/protocol/types.ts';

const four = ['a', 'b', 'c', 'd'] as const;

describe('flat PBFT: round robin', () => {
  it('primary(h, v) = committee[(h + v) mod n]', () => {
    const s = new ProposerSchedule('pbft', 1, four, [900, 100, 5, 0]);
    for (let h = 1; h <= 30; h++) {
      for (let v = 0; v <= 6; v++) expect(s.primary(h, v), `h=${h} v=${v}`).toBe(four[(h + v) % 4]);
    }
  });

  it('ignores the weights: every member proposes equally often', () => {
    const s = new ProposerSchedule('pbft', 1, four, [1000, 1, 1, 1]);
    const counts = new Map<string, number>();
    for (let h = 1; h <= 400; h++)
      counts.set(s.primary(h, 0), (counts.get(s.primary(h, 0)) ?? 0) + 1);
    expect([...counts.values()]).toEqual([100, 100, 100, 100]);
  });

  it('a schedule of a later epoch keeps the same rotation (absolute height)', () => {
    const s = new ProposerSchedule('pbft', 9, four, [1, 1, 1, 1]);
    expect(s.primary(9, 0)).toBe('b');
    expect(s.primary(10, 0)).toBe('c');
    expect(s.primary(9, 3)).toBe('a');
  });

  it('a view change moves to the next member', () => {
    const s = new ProposerSchedule('pbft', 1, four, [1, 1, 1, 1]);
    for (let h = 1; h <= 12; h++)
      for (let v = 0; v < 5; v++) expect(s.primary(h, v + 1)).toBe(s.primary(h + 1, v));
  });

  it('a committee of one is always the primary', () => {
    const s = new ProposerSchedule('pbft', 1, ['solo'], [0]);
    expect(s.primary(1, 0)).toBe('solo');
    expect(s.primary(77, 9)).toBe('solo');
  });
});

describe('multi-level trust: trust-weighted proposer priority', () => {
  const committee = ['m0', 'm1', 'm2', 'm3', 'm4'];
  const weights = [1000, 800, 500, 300, 100];

  it('is deterministic: two schedules with the same inputs agree on 200 entries, in any query order', () => {
    const s1 = new ProposerSchedule('mlt', 17, committee, weights);
    const s2 = new ProposerSchedule('mlt', 17, [...committee], [...weights]);
    // s2 is asked far ahead first, then backwards: the answers may not depend on the query order.
    const backwards: string[] = [];
    for (let i = 199; i >= 0; i--) backwards[i] = s2.primary(17 + i, 0);
    for (let i = 0; i < 200; i++) expect(s1.primary(17 + i, 0), `entry ${i}`).toBe(backwards[i]);
  });

  it('the first primary is the most trusted member (ties: the first in committee order)', () => {
    expect(new ProposerSchedule('mlt', 1, committee, weights).primary(1, 0)).toBe('m0');
    expect(new ProposerSchedule('mlt', 1, ['x', 'y', 'z'], [300, 900, 100]).primary(1, 0)).toBe(
      'y',
    );
    expect(new ProposerSchedule('mlt', 1, ['x', 'y', 'z'], [500, 500, 500]).primary(1, 0)).toBe(
      'x',
    );
  });

  it('equal weights give plain round robin in committee order', () => {
    const s = new ProposerSchedule('mlt', 1, four, [800, 800, 800, 800]);
    const seq = Array.from({ length: 12 }, (_, i) => s.primary(1 + i, 0));
    expect(seq).toEqual(['a', 'b', 'c', 'd', 'a', 'b', 'c', 'd', 'a', 'b', 'c', 'd']);
  });

  it('every member gets turns, even with weight 0 (counted as 1)', () => {
    const s = new ProposerSchedule('mlt', 1, committee, weights);
    const period = weights.reduce((a, b) => a + b, 0) / 100; // weights share a factor of 100
    const seen = new Set<string>();
    for (let i = 0; i < period; i++) seen.add(s.primary(1 + i, 0));
    expect(seen).toEqual(new Set(committee));

    // The walk never names one member twice in a row (a view change must rotate), so a
    // two-member committee alternates whatever the weights; in a larger one, weight 0 still gets
    // a turn within one period.
    const withZero = new ProposerSchedule('mlt', 1, ['heavy', 'zero'], [50, 0]);
    const seq = Array.from({ length: 51 }, (_, i) => withZero.primary(1 + i, 0));
    expect(seq.filter((p) => p === 'zero').length).toBeGreaterThanOrEqual(1);
    const three = new ProposerSchedule('mlt', 1, ['heavy', 'mid', 'zero'], [50, 50, 0]);
    const seq3 = Array.from({ length: 101 }, (_, i) => three.primary(1 + i, 0));
    expect(seq3.filter((p) => p === 'zero').length).toBeGreaterThanOrEqual(1);
    expect(seq3.filter((p) => p === 'zero').length).toBeLessThanOrEqual(3);
  });

  it('heavier trust proposes more often: counts over 1000 entries are proportional to the weights', () => {
    const s = new ProposerSchedule('mlt', 1, committee, weights);
    const counts = new Map(committee.map((id) => [id, 0]));
    for (let i = 0; i < 1000; i++) {
      const p = s.primary(1 + i, 0);
      counts.set(p, counts.get(p)! + 1);
    }
    const total = weights.reduce((a, b) => a + b, 0);
    committee.forEach((id, i) => {
      const expected = (1000 * weights[i]!) / total;
      expect(
        Math.abs(counts.get(id)! - expected),
        `${id}: ${counts.get(id)} vs ${expected}`,
      ).toBeLessThanOrEqual(3);
    });
    // Strictly ordered by weight.
    const ordered = committee.map((id) => counts.get(id)!);
    expect([...ordered].sort((a, b) => b - a)).toEqual(ordered);
  });

  it('no member proposes twice in a row while another has equal weight (smooth interleaving)', () => {
    const s = new ProposerSchedule('mlt', 1, ['a', 'b', 'c'], [700, 700, 700]);
    for (let i = 1; i < 100; i++) expect(s.primary(i + 1, 0)).not.toBe(s.primary(i, 0));
  });

  it('a view change moves to the next entry: primary(h, v+1) = primary(h+1, v)', () => {
    const s = new ProposerSchedule('mlt', 9, committee, weights);
    for (let h = 9; h < 40; h++) {
      for (let v = 0; v < 6; v++)
        expect(s.primary(h, v + 1), `h=${h} v=${v}`).toBe(s.primary(h + 1, v));
    }
  });

  // DESIGN.md §4.2 says the primary "rotates on view change". The smooth weighted walk can give
  // one member two consecutive entries (here 'a', with 9/32 of the weight, at entries 31 and 32),
  // so when that member is the silent or crashed primary of (h, v), the view change to v+1 lands
  // on it again and the committee waits a second, doubled timeout. Safety is unaffected; it is a
  // liveness/latency doubt (Tendermint allows it; the design text does not).
  it('DOUBT: a view change always moves to a different member when weights are comparable', () => {
    const s = new ProposerSchedule('mlt', 1, ['a', 'b', 'c', 'd'], [900, 800, 800, 700]);
    for (let h = 1; h <= 50; h++) expect(s.primary(h, 1)).not.toBe(s.primary(h, 0));
  });

  it('a height before the first height of the epoch throws RangeError (both modes)', () => {
    const mlt = new ProposerSchedule('mlt', 9, committee, weights);
    expect(() => mlt.primary(8, 0)).toThrow(RangeError);
    expect(() => mlt.primary(1, 0)).toThrow(RangeError);
    const pbft = new ProposerSchedule('pbft', 9, committee, weights);
    expect(() => pbft.primary(8, 0)).toThrow(RangeError);
    expect(mlt.primary(9, 0)).toBe('m0');
  });

  it('an empty committee is refused', () => {
    expect(() => new ProposerSchedule('mlt', 1, [], [])).toThrow();
    expect(() => new ProposerSchedule('pbft', 1, [], [])).toThrow();
  });

  // chain.ts builds a fresh ProposerSchedule for every epoch (Chain.scheduleFor), so the proposer
  // priorities restart from zero each epoch and only the first `epochLength` entries of the
  // sequence are ever used at view 0. With the defaults (maxCore 16, epochLength 8) and a
  // committee of more than 8 members of similar trust, the same first 8 members propose every
  // epoch and the others never do — contradicting "everyone in the committee gets turns"
  // (primary.ts header) and making the trust weighting meaningless for large committees.
  // Carrying the priorities over between epochs (as Tendermint does) would fix it.
  it('BUG: on a real Chain with 16 equally trusted validators, every committee member proposes within two epochs', () => {
    const chainId = 'primary-test-chain';
    const city = createCity({ seed: 3, households: 1, chainId, validators: 16 });
    const genesis: Genesis = {
      config: { ...defaultProtocolConfig, mode: 'mlt' },
      ledger: city.genesis(),
      initialTrust: {},
    };
    const verifier = new SignatureVerifier();
    const chain = new Chain(genesis, (pk, m, sig) => verifier.check(pk, m, sig));
    const secret = new Map(city.validators.map((v) => [v.id, v.keys.secretKey]));
    expect(chain.committee).toHaveLength(16);
    const proposers = new Set<string>();
    let lastCommit: CommitCertificate | null = null;
    for (let h = 1; h <= 2 * defaultProtocolConfig.epochLength; h++) {
      const proposer = chain.primary(0);
      proposers.add(proposer);
      const block: Block = {
        height: h,
        prevHash: chain.headHash,
        proposer,
        txs: [],
        lastCommit,
        attestations: [],
        evidence: [],
      };
      const verdict = chain.validateBlock(block);
      if (!verdict.ok) throw new Error(verdict.reason);
      chain.commit(block, verdict);
      const digest = blockHash(block);
      lastCommit = {
        height: h,
        view: 0,
        digest,
        signatures: [...chain.lastCommittee].sort().map((id) => ({
          signer: id,
          kind: 'commit' as const,
          sig: signVote(chainId, secret.get(id)!, id, 'commit', h, 0, digest).sig,
        })),
      };
    }
    expect(chain.epoch).toBe(2);
    expect(proposers).toEqual(new Set(chain.committee));
  });
});
