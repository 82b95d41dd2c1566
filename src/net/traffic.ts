// City traffic on a live room: every validator drives a share of the room's city (the issuer,
// the providers and the households, whose keys every tab can derive from the genesis), and only
// its share, so that two tabs never sign for the same account with the same nonce. The share
// follows from the committed validator registry, which every tab agrees on: the validator at
// position k of K owns the members at positions k, k + K, k + 2K, … of the city. When K changes,
// a newly owned member waits a few heights, so the previous owner's last payment lands first.
//
// Also the hand payments of the status page, which go through the same nonce bookkeeping.
//
// By default a member waits for its transaction to commit before it signs the next. A deeper
// pipeline (`setDepth`, for benchmarks at saturation) lets each member have several in flight, at
// consecutive nonces; what it signs then allows for what it has in flight (a bill being paid is
// not paid again, a balance already spent is not spent again, a household being topped up is not
// topped up again), so everything it signs still applies.

import type { City, CityMember } from '../ledger/city.ts';
import { billRanges } from '../ledger/city.ts';
import {
  accountOf,
  balanceOf,
  billOf,
  registeredValidators,
  signTx,
  txIdOf,
} from '../ledger/ledger.ts';
import type { Bill, SignedTx, TxBody } from '../ledger/types.ts';
import type { LedgerState } from '../ledger/ledger.ts';
import { billCategories } from '../ledger/types.ts';
import { Rng } from '../sim/rng.ts';

/** Heights a newly owned member rests before this node signs for it. */
export const handoverHeights = 3;
/**
 * Heights after which an unanswered transaction is presumed lost (and its nonce signed again). The
 * replica answers every transaction submitted to it, so this is only a safety net; it must stay
 * well above how long a live transaction can take: the host's queue, then up to 16 heights waiting
 * in the mempool for an earlier nonce or a funding payment. At 20, a loaded machine with 100 ms
 * blocks presumed live payments lost and signed the same bills again (`bill-already-paid`).
 */
const pendingTtl = 64;
/**
 * Open bills per household above which its providers stop issuing (times the transactions a member
 * may have in flight).
 */
const openBillsPerHousehold = 3;
/** Most transactions a member may have in flight (the mempool holds nonces up to 64 ahead). */
export const maxDepth = 32;

export interface TrafficView {
  /** Height of the last committed block. */
  readonly height: number;
  readonly ledger: LedgerState;
}

interface Pending {
  readonly txId: string;
  readonly signer: string;
  readonly nonce: number;
  readonly height: number;
  readonly body: TxBody;
}

export class CityTraffic {
  private readonly rng: Rng;
  private readonly members: readonly CityMember[];
  /** Owned member id → height from which this node may sign for it. */
  private owned = new Map<string, number>();
  private pending: Pending[] = [];
  /** Height of the view at the last refresh. */
  private seenHeight = 0;
  /** Transactions a member may have in flight at once. */
  private depth = 1;

  constructor(
    readonly city: City,
    private readonly selfId: string,
    seed: number,
  ) {
    this.rng = new Rng(seed);
    this.members = [city.issuer, ...city.providers, ...city.households];
  }

  /** Members this node signs for (after the hand-over pause). */
  ownedMembers(view: TrafficView): CityMember[] {
    this.refresh(view);
    return this.members.filter((m) => (this.owned.get(m.id) ?? Infinity) <= view.height);
  }

  /** Households this node drives (their bills can be paid by hand here). */
  households(view: TrafficView): CityMember[] {
    return this.ownedMembers(view).filter((m) => m.kind === 'household');
  }

  /** How many transactions a member may have in flight at once (1 to `maxDepth`; default 1). */
  setDepth(depth: number): void {
    if (Number.isFinite(depth)) this.depth = Math.min(Math.max(Math.floor(depth), 1), maxDepth);
  }

  /**
   * Up to `count` new valid transactions of the owned members, at most `depth` in flight per
   * member: one round over the members, another while some member can still sign.
   */
  next(view: TrafficView, count: number): SignedTx[] {
    const out: SignedTx[] = [];
    const members = this.rng.shuffle(this.ownedMembers(view));
    const open = openBillsByPayer(view.ledger);
    for (let signed = true; signed && out.length < count;) {
      signed = false;
      for (const member of members) {
        if (out.length >= count) break;
        if (this.inFlight(member.id) >= this.depth) continue;
        const body = this.bodyFor(member, view, open);
        if (!body) continue;
        out.push(this.sign(member, body, view));
        signed = true;
      }
    }
    return out;
  }

  /** A payment of `billId` by its household, if this node drives that household. */
  pay(view: TrafficView, billId: string): SignedTx | { error: string } {
    const bill = billOf(view.ledger, billId);
    if (!bill) return { error: 'no such bill' };
    if (bill.status !== 'open') return { error: `the bill is ${bill.status}` };
    const payer = this.households(view).find((m) => m.id === bill.payer);
    if (!payer) return { error: 'its household is driven by another tab' };
    return this.sign(payer, { type: 'pay-bill', nonce: 0, billId }, view);
  }

  /** The outcome of a transaction of ours: it no longer holds a nonce. */
  settled(txId: string): void {
    this.pending = this.pending.filter((p) => p.txId !== txId);
  }

  private refresh(view: TrafficView): void {
    const registry = registeredValidators(view.ledger).sort(
      (a, b) => a.joinedHeight - b.joinedHeight || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
    const k = registry.findIndex((v) => v.id === this.selfId);
    // The registry changed more than once since the last look: a registry in between (which this
    // node never saw) may have given a member it holds now to another node, which may have a
    // payment of it in flight. Every member pauses again.
    const changes = new Set<number>();
    for (const v of view.ledger.validators.values()) {
      if (v.joinedHeight > this.seenHeight) changes.add(v.joinedHeight);
      if (v.leftHeight !== null && v.leftHeight > this.seenHeight) changes.add(v.leftHeight);
    }
    if (changes.size > 1) this.owned = new Map();
    this.seenHeight = Math.max(this.seenHeight, view.height);
    const next = new Map<string, number>();
    if (k >= 0) {
      this.members.forEach((m, i) => {
        if (i % registry.length !== k) return;
        // Members held from the start (the room's first validator) need no pause.
        const since =
          this.owned.get(m.id) ?? (view.height === 0 ? 0 : view.height + handoverHeights);
        next.set(m.id, since);
      });
    }
    this.owned = next;
    this.pending = this.pending.filter(
      (p) =>
        (accountOf(view.ledger, p.signer)?.nonce ?? 0) <= p.nonce &&
        view.height - p.height <= pendingTtl,
    );
  }

  private inFlight(signer: string): number {
    let n = 0;
    for (const p of this.pending) if (p.signer === signer) n++;
    return n;
  }

  /** The next nonce of `signer`: after the committed one and after every one in flight. */
  private nonceOf(view: TrafficView, signer: string): number {
    let next = accountOf(view.ledger, signer)?.nonce ?? 0;
    for (const p of this.pending) if (p.signer === signer) next = Math.max(next, p.nonce + 1);
    return next;
  }

  private sign(member: CityMember, body: TxBody, view: TrafficView): SignedTx {
    const nonce = this.nonceOf(view, member.id);
    const signed = { ...body, nonce };
    const tx = signTx(this.city.chainId, member.keys.secretKey, member.id, signed);
    this.pending.push({
      txId: txIdOf(tx),
      signer: member.id,
      nonce,
      height: view.height,
      body: signed,
    });
    return tx;
  }

  /** What this node has in flight of one kind (the bodies). */
  private inFlightOf<T extends TxBody['type']>(type: T): Extract<TxBody, { type: T }>[] {
    const out: Extract<TxBody, { type: T }>[] = [];
    for (const p of this.pending)
      if (p.body.type === type) out.push(p.body as Extract<TxBody, { type: T }>);
    return out;
  }

  /** A transaction for `member`, given the ledger's open bills by payer. */
  private bodyFor(
    member: CityMember,
    view: TrafficView,
    openBills: ReadonlyMap<string, readonly Bill[]>,
  ): TxBody | null {
    const ledger = view.ledger;
    const assets = this.city.assets;
    switch (member.kind) {
      case 'provider': {
        const category = member.category ?? billCategories[0];
        const household = this.rng.pick(this.city.households);
        const open = openBills.get(household.id) ?? [];
        const issuing = this.inFlightOf('issue-bill').filter((b) => b.payer === household.id);
        if (open.length + issuing.length >= openBillsPerHousehold * this.depth) return null;
        const [lo, hi] = billRanges[category];
        return {
          type: 'issue-bill',
          nonce: 0,
          payer: household.id,
          asset: this.rng.pick(assets),
          amount: this.rng.int(lo, hi),
          period: `h${view.height}`,
          dueHeight: view.height + this.rng.int(16, 64),
        };
      }
      case 'household': {
        // Bills this node is paying already, and what those payments spend of each asset.
        const paying = new Set(this.inFlightOf('pay-bill').map((p) => p.billId));
        const spending = new Map<Bill['asset'], number>();
        for (const id of paying) {
          const b = billOf(ledger, id);
          if (b && b.payer === member.id)
            spending.set(b.asset, (spending.get(b.asset) ?? 0) + b.amount);
        }
        const bill = (openBills.get(member.id) ?? []).find(
          (b: Bill) =>
            !paying.has(b.id) &&
            balanceOf(ledger, member.id, b.asset) - (spending.get(b.asset) ?? 0) >= b.amount,
        );
        if (bill) return { type: 'pay-bill', nonce: 0, billId: bill.id };
        return null;
      }
      case 'issuer': {
        // Tops up the household furthest behind on its open bills (a household being topped up
        // already waits for that).
        const minting = new Set(this.inFlightOf('mint').map((m) => m.to));
        for (const h of this.rng.shuffle(this.city.households)) {
          if (minting.has(h.id)) continue;
          for (const b of openBills.get(h.id) ?? []) {
            const short = b.amount - balanceOf(ledger, h.id, b.asset);
            if (short > 0)
              return { type: 'mint', nonce: 0, to: h.id, asset: b.asset, amount: short + 100_000 };
          }
        }
        return null;
      }
      default:
        return null;
    }
  }
}

/** The ledger's open bills by payer, in the ledger's order: one pass over every bill. */
function openBillsByPayer(ledger: LedgerState): Map<string, Bill[]> {
  const out = new Map<string, Bill[]>();
  for (const bill of ledger.bills.values()) {
    if (bill.status !== 'open') continue;
    const list = out.get(bill.payer);
    if (list) list.push(bill);
    else out.set(bill.payer, [bill]);
  }
  return out;
}
