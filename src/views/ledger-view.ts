// The ledger as the views show it: bills with their state (and the reason a payment was
// rejected), balances per asset, and a block explorer (each block's transactions with their
// results, its commit certificate, the previous height's certificate it carries, attestations and
// evidence). Built in the worker from one validator's committed blocks, ledger and events, and
// handed to the page as plain data; the protocol and the ledger know nothing of it.

import { assets, type Asset } from '../ledger/types.ts';
import type { SignedTx, TxResult } from '../ledger/types.ts';
import { accountsOf, billsOf, type LedgerState } from '../ledger/ledger.ts';
import { quorumSize } from '../protocol/quorum.ts';
import { evidenceOffender } from '../protocol/chain.ts';
import type { CommitCertificate, CommittedBlock, ReplicaEvent } from '../protocol/types.ts';

export type LedgerBillState = 'issued' | 'pending' | 'committed' | 'settled' | 'rejected';

export interface LedgerBillView {
  readonly id: string;
  readonly payer: string;
  readonly provider: string;
  readonly category: string;
  readonly asset: Asset;
  readonly amount: number;
  readonly state: LedgerBillState;
  /**
   * Why the last attempt to pay it failed: for state `rejected` (the bill is still open), or a
   * second payment of a paid bill that the ledger refused.
   */
  readonly reason: string | null;
  readonly issuedHeight: number;
  readonly paidHeight: number | null;
  /** A payment at or above the high-value line waits for level-2 settlement. */
  readonly highValue: boolean;
}

export interface CertificateView {
  readonly height: number;
  readonly view: number;
  readonly digest: string;
  /** Names of the signers, in the certificate's order. */
  readonly signers: readonly string[];
  /** Quorum of the committee that signed it, and its size. */
  readonly q: number;
  readonly n: number;
}

export interface TxView {
  readonly id: string;
  readonly type: SignedTx['body']['type'];
  readonly signer: string;
  /** In words: "pays bill 3f2a… (120.00 CNY)". */
  readonly text: string;
  /** Null when this validator did not see the result (it caught up, or the block is old). */
  readonly result: { readonly ok: true } | { readonly ok: false; readonly reason: string } | null;
}

export interface BlockView {
  readonly height: number;
  readonly hash: string;
  readonly prevHash: string;
  readonly proposer: string;
  readonly certificate: CertificateView;
  /** The commit certificate of the height before, carried in this block (trust is scored from it). */
  readonly lastCommit: CertificateView | null;
  readonly txs: readonly TxView[];
  /** Transactions left out of `txs` to keep the view small. */
  readonly moreTxs: number;
  readonly attestations: readonly {
    readonly height: number;
    readonly signer: string;
    readonly blockHash: string;
  }[];
  readonly evidence: readonly {
    readonly kind: string;
    readonly offender: string;
    readonly text: string;
  }[];
}

export interface LedgerView {
  readonly height: number;
  /** Sum over every account, per asset (integer minor units). */
  readonly totals: Readonly<Record<Asset, number>>;
  readonly accounts: readonly {
    readonly id: string;
    readonly name: string;
    readonly kind: string;
    readonly balances: Readonly<Record<Asset, number>>;
  }[];
  readonly billCounts: Readonly<Record<LedgerBillState, number>>;
  /** Bills with a rejected payment: open ones (state `rejected`) and paid ones paid twice. */
  readonly rejectedPayments: number;
  readonly bills: readonly LedgerBillView[];
  /** Newest first. */
  readonly blocks: readonly BlockView[];
}

export interface LedgerViewOptions {
  readonly blocks?: number;
  readonly bills?: number;
  readonly accounts?: number;
  readonly txsPerBlock?: number;
  /** A committee size per height, when the caller knows it (else the certificate's own count). */
  readonly committeeSize?: (height: number) => number | undefined;
  readonly highValue?: number;
  /** Transactions waiting in this validator's mempool (a bill being paid shows as pending). */
  readonly pending?: readonly SignedTx[];
}

/** Results are kept for this many heights (the explorer shows fewer). */
const resultHeightsKept = 64;
/** Rejected payment attempts remembered per bill while it stays open. */
const rejectionsKept = 2_000;

/**
 * Follows one validator's events for what the blocks do not hold: each transaction's result, which
 * payments settled at level 2, why payments of still-open bills failed, and which paid bills a
 * household tried to pay again (refused before any block, so only the events tell).
 */
export class LedgerTracker {
  private readonly results = new Map<number, TxResult[]>();
  private readonly settled = new Set<string>();
  private readonly rejected = new Map<string, string>();
  /** Payments this validator refused to take (never in a block), by bill. */
  private readonly refused = new Map<string, { reason: string; text: string }>();
  /** Heights whose failed payments were matched to their bills. */
  private scanned = 0;
  /** Committee size from each epoch's first height, as the epochs began (newest last). */
  private committees: { firstHeight: number; size: number }[] = [];

  observe(event: ReplicaEvent): void {
    if (event.type === 'tx-committed') {
      let list = this.results.get(event.height);
      if (!list) {
        list = [];
        this.results.set(event.height, list);
        for (const h of this.results.keys())
          if (h <= event.height - resultHeightsKept) this.results.delete(h);
      }
      list.push(event.result);
    } else if (event.type === 'epoch') {
      this.committees.push({ firstHeight: event.firstHeight, size: event.committee.length });
      if (this.committees.length > 32) this.committees.shift();
    } else if (event.type === 'payment-settled') {
      this.settled.add(event.billId);
    } else if (event.type === 'tx-rejected' && event.billId) {
      this.refused.delete(event.billId);
      this.refused.set(event.billId, {
        reason: event.reason,
        text: `${event.reason}: ${event.detail}`,
      });
      bound(this.refused);
    }
  }

  /** Starts over (a new run, or a replay from the start). */
  clear(): void {
    this.results.clear();
    this.settled.clear();
    this.rejected.clear();
    this.refused.clear();
    this.scanned = 0;
    this.committees = [];
  }

  view(
    blocks: readonly CommittedBlock[],
    ledger: LedgerState,
    nameOf: (id: string) => string,
    options: LedgerViewOptions = {},
  ): LedgerView {
    this.scan(blocks);
    const accountName = new Map(accountsOf(ledger).map((a) => [a.id, a.name]));
    const who = (id: string) => accountName.get(id) ?? nameOf(id);
    const highValue = options.highValue ?? Infinity;

    const totals = Object.fromEntries(assets.map((a) => [a, 0])) as Record<Asset, number>;
    const accounts = accountsOf(ledger).map((a) => {
      const balances = { ...a.balances };
      for (const x of assets) totals[x] += balances[x];
      return { id: a.id, name: a.name, kind: a.kind, balances };
    });
    accounts.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));

    const billCounts: Record<LedgerBillState, number> = {
      issued: 0,
      pending: 0,
      committed: 0,
      settled: 0,
      rejected: 0,
    };
    const beingPaid = new Set<string>();
    for (const tx of options.pending ?? [])
      if (tx.body.type === 'pay-bill') beingPaid.add(tx.body.billId);
    let rejectedPayments = 0;
    const bills: LedgerBillView[] = billsOf(ledger).map((b) => {
      const refused = this.refused.get(b.id);
      // A refusal of a paid bill's payment is news only when it was a second payment: one
      // refused before the bill was paid (say, for want of funds) is history by then.
      const rejection =
        b.status === 'open'
          ? (this.rejected.get(b.id) ?? refused?.text ?? null)
          : refused?.reason === 'bill-already-paid'
            ? `a second payment was rejected: ${refused.text}`
            : null;
      if (rejection) rejectedPayments++;
      const state: LedgerBillState =
        b.status === 'paid'
          ? this.settled.has(b.id)
            ? 'settled'
            : 'committed'
          : beingPaid.has(b.id)
            ? 'pending'
            : rejection
              ? 'rejected'
              : 'issued';
      billCounts[state]++;
      return {
        id: b.id,
        payer: who(b.payer),
        provider: who(b.provider),
        category: b.category,
        asset: b.asset,
        amount: b.amount,
        state,
        reason: rejection,
        issuedHeight: b.issuedHeight,
        paidHeight: b.paidHeight,
        highValue: b.amount >= highValue,
      };
    });
    // The latest movements first: paid most recently, then issued most recently.
    bills.sort(
      (a, b) =>
        Math.max(b.paidHeight ?? 0, b.issuedHeight) - Math.max(a.paidHeight ?? 0, a.issuedHeight) ||
        a.id.localeCompare(b.id),
    );

    const certificate = (c: CommitCertificate): CertificateView => {
      const n =
        this.committees.findLast((e) => e.firstHeight <= c.height)?.size ??
        options.committeeSize?.(c.height) ??
        c.signatures.length;
      return {
        height: c.height,
        view: c.view,
        digest: c.digest,
        signers: c.signatures.map((s) => nameOf(s.signer)),
        q: quorumSize(n),
        n,
      };
    };
    const perBlock = options.txsPerBlock ?? 12;
    const shown = blocks.slice(-(options.blocks ?? 12)).reverse();
    const blockViews = shown.map((cb): BlockView => {
      const { block } = cb;
      const results = this.results.get(block.height);
      const complete = results?.length === block.txs.length;
      return {
        height: block.height,
        hash: cb.certificate.digest,
        prevHash: block.prevHash,
        proposer: nameOf(block.proposer),
        certificate: certificate(cb.certificate),
        lastCommit: block.lastCommit ? certificate(block.lastCommit) : null,
        txs: block.txs.slice(0, perBlock).map((tx, i) => {
          const r = complete ? results[i] : undefined;
          return {
            id: r?.txId ?? '',
            type: tx.body.type,
            signer: who(tx.signer),
            text: txText(tx, who),
            result: r ? (r.ok ? { ok: true } : { ok: false, reason: r.reason }) : null,
          };
        }),
        moreTxs: Math.max(0, block.txs.length - perBlock),
        attestations: block.attestations.map((a) => ({
          height: a.height,
          signer: nameOf(a.signer),
          blockHash: a.blockHash,
        })),
        evidence: block.evidence.map((e) => {
          const offender = nameOf(evidenceOffender(e));
          return e.type === 'equivocation'
            ? {
                kind: e.type,
                offender,
                text: `${offender} signed two ${e.first.kind} votes at height ${e.first.height}, view ${e.first.view}: for ${e.first.digest.slice(0, 8)}… and for ${e.second.digest.slice(0, 8)}…`,
              }
            : {
                kind: e.type,
                offender,
                text: `${offender} proposed an invalid block at height ${e.proposal.height}, view ${e.proposal.view}`,
              };
        }),
      };
    });

    return {
      height: blocks.at(-1)?.block.height ?? 0,
      totals,
      accounts: accounts.slice(0, options.accounts ?? 40),
      billCounts,
      rejectedPayments,
      bills: bills.slice(0, options.bills ?? 30),
      blocks: blockViews,
    };
  }

  /** Matches failed payments of newly seen heights to their bills. */
  private scan(blocks: readonly CommittedBlock[]): void {
    const last = blocks.at(-1)?.block.height ?? 0;
    if (last < this.scanned) this.scanned = 0;
    for (const cb of blocks.slice(Math.max(0, this.scanned - (blocks[0]?.block.height ?? 1) + 1))) {
      const results = this.results.get(cb.block.height);
      if (!results || results.length !== cb.block.txs.length) continue;
      cb.block.txs.forEach((tx, i) => {
        const r = results[i]!;
        if (tx.body.type !== 'pay-bill') return;
        if (r.ok) this.rejected.delete(tx.body.billId);
        else this.rejected.set(tx.body.billId, `${r.reason}: ${r.detail}`);
      });
    }
    this.scanned = last;
    bound(this.rejected);
  }
}

/** Keeps the newest `rejectionsKept` entries of a map that grows with traffic. */
function bound(map: Map<string, unknown>): void {
  while (map.size > rejectionsKept) {
    const oldest = map.keys().next().value;
    if (oldest === undefined) break;
    map.delete(oldest);
  }
}

const money = (minor: number) => (minor / 100).toFixed(2);

/** A transaction in words. */
export function txText(tx: SignedTx, who: (id: string) => string): string {
  const b = tx.body;
  switch (b.type) {
    case 'register':
      return `registers ${b.kind} ${b.name}${b.category ? ` (${b.category})` : ''}`;
    case 'mint':
      return `mints ${money(b.amount)} ${b.asset} to ${who(b.to)}`;
    case 'issue-bill':
      return `bills ${who(b.payer)} ${money(b.amount)} ${b.asset} (period ${b.period})`;
    case 'pay-bill':
      return `pays bill ${b.billId.slice(0, 8)}…`;
    case 'transfer':
      return `sends ${money(b.amount)} ${b.asset} to ${who(b.to)}`;
    case 'validator-join':
      return `joins as validator ${b.name}`;
    case 'validator-leave':
      return 'leaves the validators';
  }
}
