// The ledger view, the cost meter and Compare, on real solo runs: blocks with their certificates
// and results, bills by state, balances that add up, evidence against an equivocator, and the same
// network run with flat PBFT and multi-level trust.
import { describe, expect, it } from 'vitest';
import { accountsOf, billsOf } from '../../src/ledger/ledger.ts';
import { assets } from '../../src/ledger/types.ts';
import { quorumSize } from '../../src/protocol/quorum.ts';
import { compareProtocols } from '../../src/solo/compare.ts';
import { safetyProof, type SafetyProof } from '../../src/solo/proof.ts';
import { importTrace, parseTraceFile, traceFileOf } from '../../src/solo/trace.ts';
import { SoloSession, type SoloConfig } from '../../src/solo/session.ts';
import { costRows, type CostFigures } from '../../src/views/cost.ts';
import { ForkWatch } from '../../src/views/safety-proof.ts';

const config: SoloConfig = {
  protocol: 'mlt',
  validators: 4,
  byzantine: 1,
  fault: 'equivocate',
  seed: 5,
  txPerSecond: 8,
};

describe('the ledger view', () => {
  it('shows the last blocks newest first, each with a quorum certificate and its results', async () => {
    const s = new SoloSession(config);
    await s.runFor(20_000, Number.MAX_SAFE_INTEGER);
    const view = s.ledger();
    expect(view.blocks.length).toBeGreaterThan(3);
    const heights = view.blocks.map((b) => b.height);
    expect(heights).toEqual([...heights].sort((a, b) => b - a));
    expect(view.height).toBe(heights[0]);
    for (const b of view.blocks) {
      expect(b.certificate.signers.length).toBeGreaterThanOrEqual(b.certificate.q);
      expect(b.certificate.q).toBe(quorumSize(b.certificate.n));
      expect(b.certificate.height).toBe(b.height);
      if (b.height > 1) expect(b.lastCommit?.height).toBe(b.height - 1);
      // Seen committing every one of them, the validator in view knows every result.
      for (const tx of b.txs) expect(tx.result).not.toBeNull();
      for (const tx of b.txs) if (tx.result && !tx.result.ok) expect(tx.result.reason).toBeTruthy();
    }
    // Each block links to the one below it.
    for (let i = 0; i + 1 < view.blocks.length; i++)
      expect(view.blocks[i]!.prevHash).toBe(view.blocks[i + 1]!.hash);
    expect(view.blocks.some((b) => b.txs.length > 0)).toBe(true);
  });

  it('counts every bill once by state and adds the balances up per asset', async () => {
    const s = new SoloSession(config);
    await s.runFor(15_000, Number.MAX_SAFE_INTEGER);
    const replica = s.simulation.endpoints.find((e) => !e.byzantine)!.node.replica;
    const ledger = replica.chain.ledger;
    const view = s.ledger();
    const counts = view.billCounts;
    expect(
      counts.issued + counts.pending + counts.committed + counts.settled + counts.rejected,
    ).toBe(billsOf(ledger).length);
    expect(counts.committed + counts.settled).toBe(
      billsOf(ledger).filter((b) => b.status === 'paid').length,
    );
    for (const asset of assets)
      expect(view.totals[asset]).toBe(
        accountsOf(ledger).reduce((sum, a) => sum + a.balances[asset], 0),
      );
    for (const b of view.bills) {
      if (b.state === 'rejected') expect(b.reason).toBeTruthy();
      else if (b.state === 'committed' || b.state === 'settled')
        expect(b.reason ?? 'a second payment was rejected').toMatch(
          /^a second payment was rejected/,
        );
      else expect(b.reason).toBeNull();
    }
    expect(view.rejectedPayments).toBeGreaterThanOrEqual(counts.rejected);
  });

  it('shows a second payment of a paid bill, refused before any block, on that bill', async () => {
    // The city's traffic pays some paid bills again (a tenth of its transactions are invalid).
    const s = new SoloSession({ ...config, byzantine: 0, fault: 'none' });
    let twice: { reason: string | null }[] = [];
    for (let i = 0; i < 10 && twice.length === 0; i++) {
      await s.runFor(5_000, Number.MAX_SAFE_INTEGER);
      twice = s
        .ledger()
        .bills.filter((b) => b.state === 'committed' && b.reason?.includes('bill-already-paid'));
    }
    expect(twice.length).toBeGreaterThan(0);
    expect(twice[0]!.reason).toMatch(/^a second payment was rejected: bill-already-paid: /);
    expect(s.ledger().rejectedPayments).toBeGreaterThanOrEqual(twice.length);
  });

  it('shows the evidence that convicted an equivocator, in words', async () => {
    const s = new SoloSession({ ...config, seed: 2 });
    let found: string | undefined;
    for (let i = 0; i < 12 && !found; i++) {
      await s.runFor(5_000, Number.MAX_SAFE_INTEGER);
      // The explorer shows the last blocks only: look while they are recent.
      found = s
        .ledger()
        .blocks.flatMap((b) => b.evidence)
        .find((e) => e.kind === 'equivocation')?.text;
    }
    expect(found).toMatch(/signed two (pre-prepare|prepare|commit) votes at height \d+/);
  });
});

describe('the cost meter', () => {
  const figures: CostFigures = {
    label: 'x',
    payments: 4,
    heights: 2,
    messages: 100,
    bytes: 40_000,
    signatureChecks: 20,
    latency: { p50: 120.4, p99: 900 },
    scope: 'test',
  };

  it('divides by payments and heights, and says when there is nothing to divide by', () => {
    const rows = Object.fromEntries(costRows([figures]).map((r) => [r.label, r.values[0]]));
    expect(rows['Messages per payment']).toBe('25');
    expect(rows['Bytes per payment']).toBe('10 kB');
    expect(rows['Signature checks per payment']).toBe('5');
    expect(rows['Messages per height']).toBe('50');
    expect(rows['Commit latency p50 / p99']).toBe('120 / 900 ms');
    const none = costRows([{ ...figures, payments: 0, bytes: null, latency: null }]);
    const byLabel = Object.fromEntries(none.map((r) => [r.label, r.values[0]]));
    expect(byLabel['Messages per payment']).toBe('—');
    expect(byLabel['Bytes per payment']).toBe('not counted');
    expect(byLabel['Commit latency p50 / p99']).toBe('—');
  });

  it("counts a solo run's messages, bytes and checks from its start, and again after going back", async () => {
    const s = new SoloSession(config);
    await s.runFor(5_000, Number.MAX_SAFE_INTEGER);
    const at = s.snapshot().step;
    const cost = s.cost();
    expect(cost.messages).toBeGreaterThan(0);
    expect(cost.bytes).toBeGreaterThan(cost.messages * 50);
    expect(cost.signatureChecks).toBeGreaterThan(0);
    await s.runFor(5_000, Number.MAX_SAFE_INTEGER);
    expect(s.cost().messages).toBeGreaterThan(cost.messages);
    await s.seek(at);
    expect(s.cost()).toEqual(cost);
  });
});

describe('Compare', () => {
  it('runs the same network with flat PBFT and multi-level trust, deterministically', async () => {
    const network: SoloConfig = { ...config, validators: 7, byzantine: 0, fault: 'none' };
    const a = await compareProtocols(network, 4_000);
    expect(a.runs.map((r) => r.protocol)).toEqual(['pbft', 'mlt']);
    for (const r of a.runs) {
      expect(r.height).toBeGreaterThan(0);
      expect(r.safe).toBe(true);
      expect(r.cost.messages).toBeGreaterThan(0);
    }
    expect(a.runs[0]!.committee).toBe(7);
    const b = await compareProtocols(network, 4_000);
    expect(b.runs.map((r) => ({ ...r.cost }))).toEqual(a.runs.map((r) => ({ ...r.cost })));
    await expect(compareProtocols(network, 0)).rejects.toThrow(RangeError);
  });
});

/** Two of four validators collude (more than f = 1): run until the chain forks. */
async function forkedRun(): Promise<{ s: SoloSession; proof: SafetyProof | null }> {
  const s = new SoloSession({
    ...config,
    byzantine: 2,
    fault: 'equivocate',
    seed: 1,
    txPerSecond: 0,
  });
  let proof: SafetyProof | null = null;
  for (let i = 0; i < 40 && !proof; i++) {
    await s.runFor(1_000, Number.MAX_SAFE_INTEGER);
    for (let h = 1; h <= s.snapshot().height + 1 && !proof; h++)
      proof = safetyProof(s.simulation, h);
  }
  return { s, proof };
}

describe('the safety proof', () => {
  it('shows two certified conflicting blocks and who signed both when more than f collude', async () => {
    const { s, proof } = await forkedRun();
    expect(proof).not.toBeNull();
    const p = proof!;
    expect(p.branches).toHaveLength(2);
    expect(p.branches[0]!.digest).not.toBe(p.branches[1]!.digest);
    for (const b of p.branches) {
      expect(b.validSignatures).toBe(b.signers.length);
      expect(b.validSignatures).toBeGreaterThanOrEqual(p.q);
      expect(b.hashMatches).toBe(true);
      expect(b.committedBy.length).toBeGreaterThan(0);
    }
    // Two quorums of 3 among 4 overlap in 2: the two colluders.
    const byzantine = s
      .snapshot()
      .validators.filter((v) => v.fault)
      .map((v) => v.name);
    expect([...p.doubleSigners].sort()).toEqual(byzantine.sort());
    // An honest run has nothing to prove.
    const honest = new SoloSession({ ...config, byzantine: 0, fault: 'none' });
    await honest.runFor(5_000, Number.MAX_SAFE_INTEGER);
    expect(safetyProof(honest.simulation, 2)).toBeNull();
  });
});

describe('trace files', () => {
  it('export a run with its interventions and import it again at the same step and hash', async () => {
    const s = new SoloSession(config);
    await s.runFor(2_000, Number.MAX_SAFE_INTEGER);
    while (!s.pending().some((p) => p.kind === 'deliver')) await s.step(1);
    const next = s.pending().find((p) => p.kind === 'deliver')!;
    await s.drop(next.id);
    await s.step(25);
    const file = traceFileOf(s, '2026-12-03T00:00:00.000Z');
    const text = JSON.stringify(file);
    const imported = await importTrace(text);
    expect(imported.ok).toBe(true);
    if (!imported.ok) return;
    expect(imported.value.verified).toBe(true);
    expect(imported.value.session.snapshot()).toEqual(s.snapshot());
    expect(imported.value.session.interventions).toEqual(s.interventions);
  });

  it('say what is wrong with a file that is not a trace, and flag one that replays differently', async () => {
    const s = new SoloSession(config);
    await s.step(40);
    const good = traceFileOf(s, 'now');
    const cases: [string, RegExp][] = [
      ['not json', /not JSON/],
      ['[]', /not an object/],
      [JSON.stringify({ ...good, format: 'x' }), /not a tierbft-solo-trace/],
      [JSON.stringify({ ...good, version: 2 }), /unsupported trace version/],
      [JSON.stringify({ ...good, run: 'zz!' }), /does not decode/],
      [JSON.stringify({ ...good, traceHash: 'abc' }), /trace hash/],
      [JSON.stringify({ ...good, step: 3 }), /step does not match/],
      ['x'.repeat(1_000_001), /too large/],
    ];
    for (const [text, reason] of cases) {
      const r = parseTraceFile(text);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(reason);
    }
    const tampered = await importTrace(JSON.stringify({ ...good, traceHash: '0'.repeat(64) }));
    expect(tampered.ok && tampered.value.verified).toBe(false);
  });
});

describe('a live tab watching for forks', () => {
  it("proves a fork from a peer's certificate that conflicts with its own block, and only then", async () => {
    const { s, proof } = await forkedRun();
    expect(proof).not.toBeNull();
    const height = proof!.height;
    const honest = s.simulation.endpoints.filter((e) => !e.byzantine).map((e) => e.node.replica);
    const mine = honest.find(
      (r) => r.blocks[height - 1]?.certificate.digest === proof!.branches[0]!.digest,
    )!;
    const theirs = honest.find(
      (r) => r.blocks[height - 1]?.certificate.digest === proof!.branches[1]!.digest,
    )!;
    const chainId = mine.chain.chainId;
    const watch = new ForkWatch(chainId, 'me');
    // The same block from a peer proves nothing; neither does a certificate with forged signatures.
    expect(
      watch.observe(
        theirs.id,
        { type: 'decided', committed: mine.blocks[height - 1]! },
        mine.blocks,
        4,
      ),
    ).toBeNull();
    const forged = {
      ...theirs.blocks[height - 1]!,
      certificate: { ...theirs.blocks[height - 1]!.certificate, digest: 'ab'.repeat(32) },
    };
    expect(
      watch.observe(theirs.id, { type: 'decided', committed: forged }, mine.blocks, 4),
    ).toBeNull();
    // The other branch's block, certified: a proof, with the colluders as double signers.
    const found = watch.observe(
      theirs.id,
      { type: 'decided', committed: theirs.blocks[height - 1]! },
      mine.blocks,
      4,
    );
    expect(found?.height).toBe(height);
    expect(found?.branches.map((b) => b.validSignatures).every((n) => n >= 3)).toBe(true);
    const byzantine = s
      .snapshot()
      .validators.filter((v) => v.fault)
      .map((v) => v.name);
    expect([...found!.doubleSigners].sort()).toEqual(byzantine.sort());
    expect(watch.proof).toBe(found);
    // A peer that only sends made-up certificates is ignored after a while.
    const quiet = new ForkWatch(chainId, 'me');
    for (let i = 0; i < ForkWatch.maxFailures + 5; i++)
      quiet.observe(theirs.id, { type: 'decided', committed: forged }, mine.blocks, 4);
    expect(
      quiet.observe(
        theirs.id,
        { type: 'decided', committed: theirs.blocks[height - 1]! },
        mine.blocks,
        4,
      ),
    ).toBeNull();
  });
});
