// A browser tab's validator, as the tab sees it, without a browser or WebRTC: tabs talk over a
// tiny in-process wire, keep their chains in memory storage, and run on the real clock with a
// quick room (blocks every 100 ms, epochs of 4 heights).
import { afterAll, describe, expect, it } from 'vitest';
import { billIdOf, registeredValidators, signTx, validatorOf } from '../../src/ledger/ledger.ts';
import {
  MemoryStorage,
  TabValidator,
  storageKey,
  type TabSnapshot,
} from '../../src/net/tab-validator.ts';
import { decodeGenesis, roomCityOf } from '../../src/protocol/genesis.ts';
import { Wire, clock, oneCoreRoom as roomConfig, until } from './helpers.ts';

const room = 'tab-room';
const wire = new Wire();
const tabs: TabValidator[] = [];
const storageA = new MemoryStorage();
/** Every rejection any tab saw (mempool admission or execution), with the tab's slot. */
const rejections: { slot: string; reason: string; detail: string }[] = [];

async function openTab(
  slot: string,
  storage: MemoryStorage,
  peerId: string,
): Promise<TabValidator> {
  const tab = await TabValidator.open({
    room,
    slot,
    storage,
    clock,
    transport: wire.transport(peerId),
    roomConfig,
    onEvent: (e) => {
      if (e.type === 'tx-rejected') rejections.push({ slot, reason: e.reason, detail: e.detail });
      if (e.type === 'tx-committed' && !e.result.ok)
        rejections.push({ slot, reason: e.result.reason, detail: e.result.detail });
    },
  });
  wire.attach(peerId, tab);
  tab.start(peerId);
  tabs.push(tab);
  return tab;
}

/** Connects a new peer to everyone on the wire, as the mesh does when a tab joins the room. */
function connectAll(peerId: string): void {
  for (const other of wire.peers()) if (other !== peerId) wire.connect(peerId, other);
}

const hashAt = (tab: TabValidator, height: number) =>
  tab.host!.replica.blocks[height - 1]?.certificate.digest;
const registered = (tab: TabValidator, id: string) =>
  registeredValidators(tab.host!.replica.chain.ledger).some((v) => v.id === id);
const openBillOf = (snap: TabSnapshot) =>
  snap.bills.find((b) => {
    const h = snap.households.find((x) => x.id === b.payer);
    return b.state === 'issued' && h !== undefined && h.balances[b.asset] >= b.amount;
  });

afterAll(() => {
  for (const tab of tabs) tab.stop();
});

// The tests build on each other, like a user opening tabs one after another.
describe('tab validators over an in-process wire', () => {
  const storageB = new MemoryStorage();
  let a: TabValidator;
  let b: TabValidator;
  let bId = '';

  it('the first tab creates the room, commits alone and drives the city', async () => {
    a = await openTab('a', storageA, 'a-1');
    expect(a.hasChain).toBe(false);
    expect(a.snapshot().phase).toBe('waiting-for-genesis');
    a.create();
    a.setTraffic(true, 20);
    await until(
      () => `A commits payments (stats ${JSON.stringify(a.snapshot().stats)})`,
      () => a.snapshot().stats.committedTxs >= 20,
      10_000,
    );
    const snap = a.snapshot();
    expect(snap.phase).toBe('running');
    expect(snap.tier).toBe('core');
    expect(snap.committee.map((v) => v.id)).toEqual([a.id]);
    expect(snap.validators.map((v) => v.id)).toEqual([a.id]);
    expect(snap.height).toBeGreaterThan(0);
    expect(snap.headHash).toMatch(/^[0-9a-f]{64}$/);
    expect(snap.headHash).toBe(hashAt(a, snap.height));
    expect(snap.households).toHaveLength(12);
    for (const h of snap.households) expect(h.balances.CNY).toBeGreaterThanOrEqual(0);
    expect(snap.households.some((h) => h.balances.CNY > 0)).toBe(true);
    expect(snap.bills.length).toBeGreaterThan(0);
    expect(snap.traffic).toEqual({ on: true, perSecond: 20, available: true });
    // The chain is stored as it grows.
    await a.flushed();
    const stored = storageA.rooms.get(storageKey(room, 'a'))!;
    expect(stored.genesis).not.toBeNull();
    expect(stored.blocks.length).toBeGreaterThan(0);
  });

  it('a second tab fetches the genesis, registers, catches up and drives its own share', async () => {
    const rejectedAtJoin = rejections.length;
    b = await openTab('b', storageB, 'b-1');
    bId = b.id;
    b.setTraffic(true, 20);
    connectAll('b-1');
    await until(
      () => `B registered in A's view (B at ${b.snapshot().height}, A at ${a.snapshot().height})`,
      () => a.snapshot().validators.some((v) => v.id === b.id) && b.snapshot().tier !== null,
      10_000,
    );
    expect(b.snapshot().genesisHash).toBe(a.snapshot().genesisHash);
    expect(b.snapshot().tier).toBe('observer');
    await until(
      'B at the same head as A',
      () => b.snapshot().headHash === a.snapshot().headHash,
      10_000,
    );
    const common = Math.min(a.snapshot().height, b.snapshot().height);
    expect(hashAt(b, common)).toBe(hashAt(a, common));

    // Once the hand-over is over, the households split between the tabs.
    await until(
      () =>
        `households split (A ${a.snapshot().households.length}, B ${b.snapshot().households.length})`,
      () => a.snapshot().households.length + b.snapshot().households.length === 12,
      10_000,
    );
    const [ha, hb] = [a.snapshot(), b.snapshot()].map((s) => s.households.map((h) => h.id));
    expect(ha!.filter((id) => hb!.includes(id))).toEqual([]);
    expect(ha!.length).toBeGreaterThan(0);
    expect(hb!.length).toBeGreaterThan(0);

    // A brisk run: both tabs' payments commit, and no nonce ever collides.
    const before = [a.snapshot().stats.committedTxs, b.snapshot().stats.committedTxs];
    const rejectedBefore = rejections.length;
    await new Promise((r) => setTimeout(r, 3_000));
    expect(a.snapshot().stats.committedTxs).toBeGreaterThan(before[0]! + 20);
    expect(b.snapshot().stats.committedTxs).toBeGreaterThan(before[1]! + 20);
    // B's households sign payments that A's blocks carry.
    const signers = new Set(
      a.host!.replica.blocks.slice(-20).flatMap((cb) => cb.block.txs.map((tx) => tx.signer)),
    );
    expect(hb!.some((id) => signers.has(id))).toBe(true);
    // No nonce taken twice, from B's arrival on (through the hand-over of half the city); once B
    // is caught up, no transaction waits on a missing nonce either.
    const stale = rejections.slice(rejectedAtJoin).filter((r) => r.reason === 'stale-nonce');
    expect(stale).toEqual([]);
    const future = rejections.slice(rejectedBefore).filter((r) => r.reason === 'future-nonce');
    expect(future).toEqual([]);
  });

  it('pays a bill by hand on the tab that drives its household, and only there', async () => {
    a.setTraffic(false);
    b.setTraffic(false);
    // Let what is in flight land.
    const h0 = a.snapshot().height;
    await until(
      'six heights',
      () => a.snapshot().height >= h0 + 6 && b.snapshot().height >= h0 + 6,
    );
    const sa = a.snapshot();
    const sb = b.snapshot();
    const mine = openBillOf(sa) ?? (await issueBill(a, sa.households[0]!.id));
    const theirs = openBillOf(sb) ?? (await issueBill(b, sb.households[0]!.id));

    expect(a.payBill(theirs.id)).toEqual({
      ok: false,
      error: 'its household is driven by another tab',
    });
    expect(a.payBill('ab'.repeat(32))).toEqual({ ok: false, error: 'no such bill' });

    const payer = a.snapshot().households.find((h) => h.id === mine.payer)!;
    const paid = a.payBill(mine.id);
    expect(paid.ok).toBe(true);
    const stateOf = () => a.snapshot().bills.find((x) => x.id === mine.id)?.state;
    // The bill being paid heads the list, whatever else is open or paid.
    expect(a.snapshot().bills[0]).toMatchObject({ id: mine.id, state: 'pending' });
    await until(
      () => `the payment commits (state ${stateOf()})`,
      () => stateOf() === 'committed' || stateOf() === 'settled',
      5_000,
    );
    // Then it heads the paid bills (the most recently paid first).
    expect(a.snapshot().bills.find((x) => x.state !== 'issued')?.id).toBe(mine.id);
    const after = a.snapshot().households.find((h) => h.id === mine.payer)!;
    expect(after.balances[mine.asset]).toBe(payer.balances[mine.asset] - mine.amount);
    // B sees it paid too.
    await until(
      'B sees the bill paid',
      () =>
        b.snapshot().height >= a.snapshot().height - 1 &&
        b.host!.replica.chain.ledger.bills.get(mine.id)?.status === 'paid',
    );
    expect(a.payBill(mine.id)).toEqual({ ok: false, error: 'the bill is paid' });
    a.setTraffic(true, 20);
    b.setTraffic(true, 20);
  });

  it('a reloaded tab keeps its key and chain, reconnects, and does not register again', async () => {
    await until('B caught up', () => b.snapshot().height >= a.snapshot().height - 1);
    b.stop();
    wire.remove('b-1', { deliberate: true });
    await b.flushed();
    const stored = storageB.rooms.get(storageKey(room, 'b'))!;
    const storedHeight = stored.blocks.length;
    expect(storedHeight).toBeGreaterThan(0);
    const joinsOf = (tab: TabValidator) =>
      tab
        .host!.replica.blocks.flatMap((cb) => cb.block.txs)
        .filter((tx) => tx.body.type === 'validator-join' && tx.signer === bId).length;
    expect(joinsOf(a)).toBe(1);

    const rejectedBefore = rejections.length;
    b = await openTab('b', storageB, 'b-2');
    expect(b.id).toBe(bId);
    expect(b.hasChain).toBe(true);
    await b.host!.idle();
    const restored = b.snapshot();
    expect(restored.resumed).toBe(true);
    expect(restored.height).toBeGreaterThanOrEqual(storedHeight);
    expect(restored.tier).toBe('observer');
    expect(restored.genesisHash).toBe(a.snapshot().genesisHash);
    expect(hashAt(b, storedHeight)).toBe(hashAt(a, storedHeight));

    connectAll('b-2');
    await until(
      () => `reloaded B at A's head (B ${b.snapshot().height}, A ${a.snapshot().height})`,
      () => b.snapshot().headHash === a.snapshot().headHash && b.snapshot().height > storedHeight,
      10_000,
    );
    // Long enough for a second join to have been proposed, admitted or rejected.
    const h0 = a.snapshot().height;
    await until('ten more heights', () => a.snapshot().height >= h0 + 10);
    expect(joinsOf(a)).toBe(1);
    expect(joinsOf(b)).toBe(1);
    expect(
      registeredValidators(a.host!.replica.chain.ledger).filter((v) => v.id === bId),
    ).toHaveLength(1);
    expect(
      rejections.slice(rejectedBefore).filter((r) => r.reason === 'already-validator'),
    ).toEqual([]);
    // And the reloaded tab drives its households again.
    await until(
      () => `reloaded B drives households (${b.snapshot().households.length})`,
      () => b.snapshot().households.length > 0,
      5_000,
    );
  });

  it('a tab closed on purpose leaves after the grace period; a reload or a crash stays', async () => {
    // Two more tabs join: C will close for good, D will crash.
    const c = await openTab('c', new MemoryStorage(), 'c-1');
    connectAll('c-1');
    const d = await openTab('d', new MemoryStorage(), 'd-1');
    connectAll('d-1');
    await until(
      'C and D registered everywhere',
      () =>
        [a, b, c, d].every((t) =>
          [c.id, d.id].every((id) => t.snapshot().validators.some((v) => v.id === id)),
        ),
      10_000,
    );
    const [cId, dId] = [c.id, d.id];
    // Every tab deposited its signed leave, at its current nonce, with every peer (on hello, and
    // again when its nonce moved with its join).
    await until('C and D see their own joins', () => registered(c, cId) && registered(d, dId));
    // Their joins moved their nonces, so they deposited again; wait until A holds C's leave at
    // C's current nonce (a leave at the old nonce would be rejected, and C would never leave).
    const depositIsCurrent = () => {
      const leave = a.host!.depositedLeave(cId);
      const nonce = c.host!.replica.chain.ledger.accounts.get(cId)?.nonce;
      return leave?.body.type === 'validator-leave' && leave.body.nonce === nonce;
    };
    await until("A holds C's leave at C's current nonce", depositIsCurrent, 10_000);

    // At once: C closes (the signaling service says it left on purpose), B reloads (so does its
    // old page), D's page crashes (its links drop, nobody is told it left).
    const leftAt = performance.now();
    c.stop();
    wire.remove('c-1', { deliberate: true });
    b.stop();
    wire.remove('b-2', { deliberate: true });
    d.stop();
    wire.remove('d-1', { deliberate: false });
    await b.flushed();
    // B is back a second later, well within the 5 s grace period.
    await new Promise((r) => setTimeout(r, 1_000));
    b = await openTab('b', storageB, 'b-3');
    expect(b.id).toBe(bId);
    connectAll('b-3');

    await until(
      () => `C's leave committed on A (${(performance.now() - leftAt).toFixed(0)} ms)`,
      () => !registered(a, cId),
      // Generous: a loaded CI machine slows the clocks of four tabs at once (5 s is the floor).
      30_000,
    );
    expect(performance.now() - leftAt).toBeGreaterThanOrEqual(5_000);
    expect(validatorOf(a.host!.replica.chain.ledger, cId)?.leftHeight).not.toBeNull();
    // B (back in time) and D (crashed: a fault, not a leave) stay registered past the grace period.
    const h0 = a.snapshot().height;
    await until('five more heights', () => a.snapshot().height >= h0 + 5);
    expect(registered(a, bId)).toBe(true);
    expect(registered(a, dId)).toBe(true);
    await until('A drops C from its validators at the epoch turn', () =>
      a.snapshot().validators.every((v) => v.id !== cId),
    );
    expect(
      a
        .snapshot()
        .validators.map((v) => v.id)
        .sort(),
    ).toEqual([a.id, bId, dId].sort());
    await until('reloaded B at the head', () => b.snapshot().headHash === a.snapshot().headHash);
    expect(registered(b, bId)).toBe(true);
    expect(registered(b, cId)).toBe(false);
  });
});

/** The room's genesis, as the first tab stored it. */
function roomGenesis() {
  const decoded = decodeGenesis(storageA.rooms.get(storageKey(room, 'a'))!.genesis!);
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.genesis;
}

/** A provider issues a bill by hand to `payer` (traffic is off on every tab, nothing in flight). */
async function issueBill(tab: TabValidator, payer: string) {
  const city = roomCityOf(roomGenesis())!;
  const provider = city.providers[0]!;
  const ledger = tab.host!.replica.chain.ledger;
  const nonce = ledger.accounts.get(provider.id)?.nonce ?? 0;
  tab.host!.submit(
    signTx(city.chainId, provider.keys.secretKey, provider.id, {
      type: 'issue-bill',
      nonce,
      payer,
      asset: 'CNY',
      amount: 1_000,
      period: 'by-hand',
      dueHeight: tab.snapshot().height + 100,
    }),
  );
  const id = billIdOf(provider.id, nonce);
  await until(
    'the bill issued by hand',
    () => tab.snapshot().bills.some((b) => b.id === id),
    5_000,
  );
  return tab.snapshot().bills.find((b) => b.id === id)!;
}
