// A Core tab reloaded again and again while its room commits: it restarts from its stored chain,
// having forgotten what it signed at the height that was open. It must never sign anything else
// there (the room would hold two signed votes of one slot: evidence against an honest tab), so it
// keeps the latest (height, view) it signed at in its storage, saved before the vote goes out.
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStorage, type TabValidator } from '../../src/net/tab-validator.ts';
import type { ProtocolConfig } from '../../src/protocol/types.ts';
import { Wire, until } from './helpers.ts';

/** Blocks every 100 ms and the default `minCore` (4): all four tabs are in the committee. */
const roomConfig: Partial<ProtocolConfig> = {
  blockIntervalMs: 100,
  viewTimeoutMs: 1_000,
  epochLength: 4,
  syncTimeoutMs: 300,
};
const wire = new Wire();
const tabs: TabValidator[] = [];
afterAll(() => {
  for (const t of tabs) t.stop();
});

async function openTab(slot: string, storage: MemoryStorage, peerId: string) {
  const tab = await wire.open({ room: 'reload-room', slot, peerId, roomConfig, storage });
  tabs.push(tab);
  tab.setTraffic(true, 20);
  return tab;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('reloading a Core tab', () => {
  it('is never convicted, and it votes again after each reload', async () => {
    const storage = ['a', 'b', 'c', 'd'].map(() => new MemoryStorage());
    const a = await openTab('a', storage[0]!, 'a-0');
    a.create();
    await until('A running', () => a.host !== null && a.host.replica.chain.height > 0, 10_000);
    await openTab('b', storage[1]!, 'b-0');
    await openTab('c', storage[2]!, 'c-0');
    let d = await openTab('d', storage[3]!, 'd-0');
    const chain = () => a.host!.replica.chain;
    await until('all four in the committee', () => chain().committee.length === 4, 30_000);
    const id = d.id;
    const evidenceAgainstD = () =>
      a
        .host!.replica.blocks.flatMap((cb) => cb.block.evidence)
        .filter((e) => (e.type === 'equivocation' ? e.first.signer : e.proposal.signer) === id);
    for (let r = 1; r <= 8; r++) {
      await pause(250 + 90 * r); // reloads land at different moments of a height
      d.stop();
      wire.remove(`d-${r - 1}`, { deliberate: false });
      await d.flushed();
      d = await openTab('d', storage[3]!, `d-${r}`);
      // Back at the room's head, it signs commits again (its signature is in a certificate).
      const from = chain().height;
      await until(
        () => `reload ${r}: D voting again (A at ${chain().height}, D at ${d.snapshot().height})`,
        () =>
          a.host!.replica.blocks.some(
            (cb) =>
              cb.block.height > from && cb.certificate.signatures.some((s) => s.signer === id),
          ),
        15_000,
      );
      expect(evidenceAgainstD(), `reload ${r}`).toEqual([]);
    }
    expect(chain().tierOf(id)).toBe('core');
  }, 120_000);
});
