// City traffic on a live room: every validator drives a share of the room's city (the issuer,
// the providers and the households, whose keys every tab can derive from the genesis), and only
// its share, so that two tabs never sign for the same account with the same nonce. The share
// follows from the committed validator registry, which every tab agrees on: the validator at
// position k of K owns the members at positions k, k + K, k + 2K, … of the city. When K changes,
// a newly owned member waits a few heights, so the previous owner's last payment lands first.
//
// Also the hand payments of the status page, which go through the same nonce bookkeeping.

import type { City, CityMember } from '../ledger/city.ts';
import { billRanges } from '../ledger/city.ts';
import {
  accountOf,
  balanceOf,
  billOf,
  billsOf,
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
/** Heights after which an unanswered transaction is presumed lost. */
const pendingTtl = 20;
/** Open bills per household above which its providers stop issuing. */
const openBillsPerHousehold = 3;

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
}

export class CityTraffic {
  private readonly rng: Rng;
  private readonly members: readonly CityMember[];
  /** Owned member id → height from which this node may sign for it. */
  private owned = new Map<string, number>();
  private pending: Pending[] = [];
  /** Height of the view at the last refresh. */
  private seenHeight = 0;

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

  /** Up to `count` new valid transactions of the owned members, one in flight per member. */
  next(view: TrafficView, count: number): SignedTx[] {
    const out: SignedTx[] = [];
    const busy = new Set(this.pending.map((p) => p.signer));
    for (const member of this.rng.shuffle(this.ownedMembers(view))) {
      if (out.length >= count) break;
      if (busy.has(member.id)) continue;
      const body = this.bodyFor(member, view);
      if (body) out.push(this.sign(member, body, view));
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

  private nonceOf(view: TrafficView, signer: string): number {
    const committed = accountOf(view.ledger, signer)?.nonce ?? 0;
    return committed + this.pending.filter((p) => p.signer === signer).length;
  }

  private sign(member: CityMember, body: TxBody, view: TrafficView): SignedTx {
    const nonce = this.nonceOf(view, member.id);
    const tx = signTx(this.city.chainId, member.keys.secretKey, member.id, { ...body, nonce });
    this.pending.push({ txId: txIdOf(tx), signer: member.id, nonce, height: view.height });
    return tx;
  }

  private bodyFor(member: CityMember, view: TrafficView): TxBody | null {
    const ledger = view.ledger;
    const assets = this.city.assets;
    switch (member.kind) {
      case 'provider': {
        const category = member.category ?? billCategories[0];
        const household = this.rng.pick(this.city.households);
        const open = billsOf(ledger, { payer: household.id }).filter((b) => b.status === 'open');
        if (open.length >= openBillsPerHousehold) return null;
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
        const bill = billsOf(ledger, { payer: member.id }).find(
          (b: Bill) => b.status === 'open' && balanceOf(ledger, member.id, b.asset) >= b.amount,
        );
        if (bill) return { type: 'pay-bill', nonce: 0, billId: bill.id };
        return null;
      }
      case 'issuer': {
        // Tops up the household furthest behind on its open bills.
        for (const h of this.rng.shuffle(this.city.households)) {
          for (const b of billsOf(ledger, { payer: h.id })) {
            const short = b.amount - balanceOf(ledger, h.id, b.asset);
            if (b.status === 'open' && short > 0)
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
