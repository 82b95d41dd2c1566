// Chain files: a room's chain out, and in again verified from its genesis the way a newcomer
// verifies a peer's chain; a tampered block stops the verification there, with the reason.
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/crypto/encoding.ts';
import { chainFileOf, verifyChainFile } from '../../src/net/chain-file.ts';
import { importChain } from '../../src/net/tab-validator.ts';
import { decodeMessage, encodeMessage } from '../../src/protocol/codec.ts';
import { SoloSession } from '../../src/solo/session.ts';

async function committedChain() {
  const s = new SoloSession({
    protocol: 'mlt',
    validators: 4,
    byzantine: 0,
    fault: 'none',
    seed: 4,
    txPerSecond: 6,
  });
  await s.runFor(8_000, Number.MAX_SAFE_INTEGER);
  const sim = s.simulation;
  return { genesis: sim.genesis, replica: sim.endpoints[0]!.node.replica };
}

describe('chain files', () => {
  it('export a chain and verify every block of it again, with its ledger', async () => {
    const { genesis, replica } = await committedChain();
    const height = replica.chain.height;
    expect(height).toBeGreaterThan(5);
    const text = JSON.stringify(chainFileOf('a-room', genesis, replica.blocks));
    const r = await importChain(text);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.verified).toBe(height);
    expect(r.claimed).toBe(height);
    expect(r.stoppedBecause).toBeNull();
    expect(r.headHash).toBe(replica.chain.headHash);
    expect(r.ledger.height).toBe(height);
    expect(r.ledger.blocks[0]!.txs.every((tx) => tx.result !== null)).toBe(true);
  });

  it('stops at a tampered block and says why; refuses what is not a chain file', async () => {
    const { genesis, replica } = await committedChain();
    const file = chainFileOf('a-room', genesis, replica.blocks);
    // Block 4 claims another proposer: its hash no longer matches its certificate.
    const m = decodeMessage(fromHex(file.blocks[3]!));
    if (!m.ok || m.message.type !== 'block-response') throw new Error('no block');
    const cb = m.message.blocks[0]!;
    const forged = {
      ...cb,
      block: {
        ...cb.block,
        proposer: replica.id === cb.block.proposer ? 'ab'.repeat(32) : replica.id,
      },
    };
    const blocks = [...file.blocks];
    blocks[3] = toHex(encodeMessage({ type: 'block-response', blocks: [forged] }));
    const r = await verifyChainFile(JSON.stringify({ ...file, blocks }));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.verified).toBe(3);
    expect(r.value.stoppedBecause).toMatch(/^block 4 does not verify/);

    for (const [text, reason] of [
      ['nope', /not JSON/],
      [JSON.stringify({ ...file, format: 'x' }), /not a tierbft-chain file/],
      [JSON.stringify({ ...file, version: 9 }), /unsupported chain file version/],
      [JSON.stringify({ ...file, genesis: 'zz' }), /genesis is missing or not hex/],
      [JSON.stringify({ ...file, genesis: 'abcd' }), /genesis does not decode/],
      [JSON.stringify({ ...file, blocks: [1] }), /blocks are missing or not hex/],
    ] as const) {
      const bad = await verifyChainFile(text);
      expect(bad.ok).toBe(false);
      if (!bad.ok) expect(bad.reason).toMatch(reason);
    }
  });
});
