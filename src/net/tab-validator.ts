// What a browser tab's validator worker does, apart from the Worker plumbing: it keeps the
// validator's key and its verified chain per room (in the storage it is given: IndexedDB in the
// browser, memory in tests), runs the room validator on the frames the tab relays, drives its
// share of the city traffic and the hand payments, and answers the status page with a snapshot.
// Everything is reached through plain method calls, so Node tests run it without a browser.

import { encodeCanonical, sha256Bytes, toHex } from '../crypto/encoding.ts';
import { generateKeyPair, publicKeyOf, type KeyPair } from '../crypto/keys.ts';
import { balanceOf, billsOf, txIdOf } from '../ledger/ledger.ts';
import { assets, type Asset, type Bill } from '../ledger/types.ts';
import { decodeMessage, encodeMessage } from '../protocol/codec.ts';
import {
  createRoomGenesis,
  decodeGenesis,
  encodeGenesis,
  roomCityOf,
} from '../protocol/genesis.ts';
import type {
  CommittedBlock,
  Genesis,
  ProtocolConfig,
  ReplicaEvent,
  Tier,
  VotePoint,
} from '../protocol/types.ts';
import { heightViewOf } from '../views/observe.ts';
import { drawnEvents, drawnMessages, type Observation } from '../views/model.ts';
import { LedgerTracker, type LedgerView } from '../views/ledger-view.ts';
import { ForkWatch, type SafetyProof } from '../views/safety-proof.ts';
import { validatorName } from './names.ts';
import {
  CrashedNode,
  HonestNode,
  TwinsNode,
  faultModes,
  wrapReplica,
  type FaultMode,
} from '../faults/index.ts';

/** What a tab can switch its validator to: every behaviour of DESIGN.md §5. */
export const liveFaultModes: readonly FaultMode[] = faultModes;
import { RoomValidator } from './room-node.ts';
import { CityTraffic } from './traffic.ts';
import { chainFileOf, verifyChainFile } from './chain-file.ts';
import type { HostClock, Transport, ValidatorHost } from './validator-host.ts';

export interface StoredRoom {
  readonly secretKey: Uint8Array;
  readonly genesis: Uint8Array | null;
  /** Encoded committed blocks, heights 1, 2, … */
  readonly blocks: readonly Uint8Array[];
  /** The latest (height, view) at which this validator signed a proposal or vote (null: none). */
  readonly signed: VotePoint | null;
}

/** Where a tab keeps its validator between sessions, under a key per room and tab slot. */
export interface TabStorage {
  load(key: string): Promise<StoredRoom | null>;
  saveIdentity(key: string, secretKey: Uint8Array): Promise<void>;
  saveGenesis(key: string, genesis: Uint8Array): Promise<void>;
  /** Stores blocks from height `firstHeight` on (replacing any stored from there). */
  saveBlocks(key: string, firstHeight: number, blocks: readonly Uint8Array[]): Promise<void>;
  /** Stores the latest (height, view) at which this validator signed (before that goes out). */
  saveSigned(key: string, point: VotePoint): Promise<void>;
}

export class MemoryStorage implements TabStorage {
  readonly rooms = new Map<string, StoredRoom>();
  async load(key: string): Promise<StoredRoom | null> {
    return this.rooms.get(key) ?? null;
  }
  async saveIdentity(key: string, secretKey: Uint8Array): Promise<void> {
    this.rooms.set(key, { secretKey, genesis: null, blocks: [], signed: null });
  }
  async saveGenesis(key: string, genesis: Uint8Array): Promise<void> {
    const r = this.rooms.get(key);
    if (r) this.rooms.set(key, { ...r, genesis });
  }
  async saveSigned(key: string, point: VotePoint): Promise<void> {
    const r = this.rooms.get(key);
    if (r) this.rooms.set(key, { ...r, signed: point });
  }
  async saveBlocks(key: string, firstHeight: number, blocks: readonly Uint8Array[]): Promise<void> {
    const r = this.rooms.get(key);
    if (r)
      this.rooms.set(key, { ...r, blocks: [...r.blocks.slice(0, firstHeight - 1), ...blocks] });
  }
}

export type BillState = 'issued' | 'pending' | 'committed' | 'settled' | 'rejected';

export interface BillView {
  readonly id: string;
  readonly category: string;
  readonly payer: string;
  readonly payerName: string;
  readonly asset: Asset;
  readonly amount: number;
  readonly state: BillState;
  readonly reason: string | null;
}

export interface ValidatorView {
  readonly id: string;
  readonly name: string;
  readonly tier: Tier;
  readonly trust: number;
}

export interface BlockView {
  readonly height: number;
  readonly hash: string;
  readonly proposer: string;
  readonly txCount: number;
  readonly view: number;
}

/** What the status page shows (plain data: it crosses from the worker to the tab). */
export interface TabSnapshot {
  readonly room: string;
  readonly selfId: string;
  readonly name: string;
  /** Null until this validator is in the registry (it is still fetching or joining). */
  readonly tier: Tier | null;
  readonly phase: 'waiting-for-genesis' | 'running';
  readonly height: number;
  readonly headHash: string;
  readonly genesisHash: string;
  readonly epoch: number;
  readonly view: number;
  readonly primary: string | null;
  readonly committee: readonly ValidatorView[];
  readonly validators: readonly ValidatorView[];
  /** Peer id → validator id, for peers that proved who they are. */
  readonly peerValidators: readonly (readonly [string, string])[];
  readonly lastBlocks: readonly BlockView[];
  readonly households: readonly {
    readonly id: string;
    readonly name: string;
    readonly balances: Readonly<Record<Asset, number>>;
  }[];
  readonly bills: readonly BillView[];
  readonly traffic: {
    readonly on: boolean;
    readonly perSecond: number;
    readonly available: boolean;
  };
  readonly stats: {
    readonly framesIn: number;
    readonly framesOut: number;
    readonly bytesOut: number;
    readonly malformed: number;
    readonly peersDisconnected: number;
    readonly internalErrors: number;
    readonly committedTxs: number;
    /** Bill payments the chain committed (every tab's, not only this tab's). */
    readonly committedPayments: number;
    /** From submitting here to committing here, over this tab's last transactions (ms). */
    readonly latency: {
      readonly p50: number;
      readonly p99: number;
      readonly samples: number;
    } | null;
    readonly rejectedTxs: number;
    readonly nativeChecks: number;
    readonly pureJsChecks: number;
  };
  readonly resumed: boolean;
  /** The behaviour injected into this tab's validator ('none' when honest). */
  readonly fault: FaultMode;
  /** The ledger and the last blocks, for the ledger view and the block explorer (null before the genesis). */
  readonly ledger: LedgerView | null;
  /** Proof that the chain forked: a peer's certificate conflicts with a block committed here. */
  readonly forkProof: SafetyProof | null;
}

/**
 * One poll of the status page: the snapshot and the observations since the last poll, in one
 * round trip. The ledger view (most of a snapshot's bytes, and it changes only when the chain
 * moves) comes only when it is not the one the page holds: each ledger view this validator builds
 * gets the next version number (0 is "no ledger yet"), the page says which version it holds, and
 * `ledger` is null when that is still the current one.
 */
export interface TabPoll {
  readonly snapshot: Omit<TabSnapshot, 'ledger'>;
  readonly ledger: LedgerCopy | null;
  readonly observations: Observation[];
}

/** A ledger view with its version (see TabPoll). */
export interface LedgerCopy {
  readonly version: number;
  readonly view: LedgerView | null;
}

/**
 * What became of the transactions this tab submitted (its traffic and hand payments) since a
 * moment of its clock: for benchmarks (submit → commit latency; none lost, none committed twice).
 */
export interface OwnTxReport {
  readonly submitted: number;
  readonly committed: number;
  /** Committed transactions by body type (`pay-bill`, `issue-bill`, `mint`, …). */
  readonly committedByType: Readonly<Record<string, number>>;
  /** Rejections by reason (a valid transaction is never rejected). */
  readonly rejected: Readonly<Record<string, number>>;
  /** Neither committed nor rejected yet. */
  readonly pending: number;
  /** Commit events for a transaction already committed here (must stay 0). */
  readonly committedTwice: number;
  /** Submit → commit as this tab saw it, in ms, per committed transaction, in commit order. */
  readonly latenciesMs: readonly number[];
}

/** What the committed chain holds between two heights, and whether anything was committed twice. */
export interface ChainAudit {
  /** Blocks in (fromHeight, toHeight]. */
  readonly blocks: number;
  readonly txs: number;
  /** Those transactions by body type. */
  readonly byType: Readonly<Record<string, number>>;
  /** Those blocks decided in a view after the first (a view change was needed). */
  readonly viewChanges: number;
  /** Over the whole chain: transactions that appear at more than one place (must be 0). */
  readonly duplicateTxs: number;
  /** Over the whole ledger: bills with more than one payment recorded (must be 0). */
  readonly billsPaidTwice: number;
}

export interface TabValidatorOptions {
  readonly room: string;
  /** Which of this browser's tabs (each holds its own validator in the room). */
  readonly slot: string;
  readonly storage: TabStorage;
  readonly clock: HostClock;
  readonly transport: Transport;
  readonly onEvent?: (event: ReplicaEvent) => void;
  /** Room settings for a room this tab creates. */
  readonly roomConfig?: Partial<ProtocolConfig>;
}

const lastBlocksShown = 8;
/** Commit latencies kept for the cost meter. */
const latencyKept = 256;
/** Observations kept for the views between two snapshots. */
const maxObservations = 4_000;
const billsShown = 24;
/** Own transactions remembered for `ownTxReport` (the oldest are forgotten first). */
const ownTxsKept = 50_000;

interface OwnTx {
  readonly type: string;
  readonly submittedAt: number;
  committedAt: number | null;
  commits: number;
  rejected: string | null;
}

export class TabValidator {
  private validator: RoomValidator | null = null;
  private traffic: CityTraffic | null = null;
  private trafficOn = true;
  private fault: FaultMode = 'none';
  private perSecond = 1;
  /** Transactions a city member may have in flight (1: each waits for the last to commit). */
  private trafficDepth = 1;
  private trafficTimer: unknown = null;
  private trafficCredit = 0;
  private savedHeight = 0;
  private saving: Promise<void> = Promise.resolve();
  private committedTxs = 0;
  private rejectedTxs = 0;
  /** Our own payments: tx id → bill, and what became of each bill. */
  private readonly paymentOfTx = new Map<string, string>();
  private readonly billState = new Map<string, { state: BillState; reason: string | null }>();
  /** Every transaction this tab submitted (bounded), for `ownTxReport`. */
  private readonly ownTxs = new Map<string, OwnTx>();
  private readonly ledgerTracker = new LedgerTracker();
  /** The room's genesis, once this tab has it. */
  private genesis: Genesis | null = null;
  /** Looks for a certificate from a peer that conflicts with a block committed here. */
  private forkWatch: ForkWatch | null = null;
  /** The last `latencyKept` commit latencies of this tab's transactions (a ring). */
  private readonly latencies: number[] = [];
  private latencyNext = 0;
  private committedPayments = 0;
  /** The ledger view, rebuilt when the chain moves; each one gets the next version (see TabPoll). */
  private ledgerView: LedgerView | null = null;
  private ledgerVersion = 0;
  private observations: Observation[] = [];
  private nextMessageId = 1;

  private constructor(
    private readonly options: TabValidatorOptions,
    readonly keys: KeyPair,
    private readonly stored: StoredRoom | null,
  ) {}

  /** Loads this tab's validator for the room (or makes a new one and stores its key). */
  static async open(options: TabValidatorOptions): Promise<TabValidator> {
    const key = storageKey(options.room, options.slot);
    let stored = await options.storage.load(key);
    if (!stored || stored.secretKey.length !== 32) {
      const keys = generateKeyPair();
      await options.storage.saveIdentity(key, keys.secretKey);
      stored = null;
      return new TabValidator(options, keys, null);
    }
    const keys = { secretKey: stored.secretKey, publicKey: publicKeyOf(stored.secretKey) };
    return new TabValidator(options, keys, stored);
  }

  get id(): string {
    return toHex(this.keys.publicKey);
  }

  get name(): string {
    return validatorName(this.id);
  }

  /** True when this tab has a stored chain for the room (a reload): it never creates one. */
  get hasChain(): boolean {
    return this.stored?.genesis != null;
  }

  get host(): ValidatorHost | null {
    return this.validator?.host ?? null;
  }

  /** Starts under `peerId` (the tab's id on the signaling service). */
  start(peerId: string): void {
    let genesis: Genesis | undefined;
    let restore: CommittedBlock[] = [];
    if (this.stored?.genesis) {
      const decoded = decodeGenesis(this.stored.genesis);
      if (decoded.ok) {
        genesis = decoded.genesis;
        restore = decodeStoredBlocks(this.stored.blocks);
        this.savedHeight = restore.length;
      }
    }
    this.validator = new RoomValidator({
      keys: this.keys,
      name: this.name,
      room: this.options.room,
      peerId,
      clock: this.options.clock,
      ...(genesis ? { genesis, restore } : {}),
      signed: {
        upTo: this.stored?.signed ?? null,
        save: (point) =>
          this.options.storage.saveSigned(storageKey(this.options.room, this.options.slot), point),
      },
      onEvent: (event) => this.onEvent(event),
      onMessage: (stage, peer, message) => {
        const host = this.validator?.host;
        if (stage === 'deliver' && host)
          this.forkWatch?.observe(peer, message, host.replica.blocks, committeeSizeOf(host));
        if (!drawnMessages.has(message.type)) return;
        const hv = heightViewOf(message);
        const self = this.id;
        this.observe({
          kind: 'message',
          at: this.options.clock.now(),
          stage,
          id: this.nextMessageId++,
          from: stage === 'deliver' ? peer : self,
          to: stage === 'deliver' ? self : peer,
          type: message.type,
          ...(hv ?? {}),
        });
      },
      onPeerHead: (peer, certificate) => {
        const host = this.validator?.host;
        if (host)
          this.forkWatch?.compare(
            peer,
            certificate,
            null,
            host.replica.blocks,
            committeeSizeOf(host),
          );
      },
      onStarted: (_host, _hash, g) => this.onStarted(g, genesis === undefined),
    });
    this.validator.start(this.options.transport);
  }

  /** This tab's chain as a chain file's text (null before it has the genesis). */
  exportChain(): string | null {
    const host = this.host;
    if (!host || !this.genesis) return null;
    return JSON.stringify(chainFileOf(this.options.room, this.genesis, host.replica.blocks));
  }

  /** Makes this tab the room's first validator, on a new genesis (no-op once running). */
  create(): void {
    if (!this.validator || this.validator.host) return;
    const chainId = toHex(
      sha256Bytes(encodeCanonical(['tierbft/room/v1', this.options.room, this.id])),
    );
    this.validator.create(
      createRoomGenesis({
        chainId,
        households: 12,
        creator: { id: this.id, name: this.name },
        ...(this.options.roomConfig ? { config: this.options.roomConfig } : {}),
      }),
    );
  }

  peerOpened(peer: string): void {
    this.validator?.peerOpened(peer);
  }
  peerClosed(peer: string): void {
    this.validator?.peerClosed(peer);
  }
  peerData(peer: string, bytes: Uint8Array): void {
    this.validator?.peerData(peer, bytes);
  }
  /** The signaling service says the peer left the room on purpose (its tab closed). */
  peerLeftRoom(peer: string): void {
    this.validator?.peerLeftRoom(peer);
  }

  /** Makes this tab's validator misbehave (or behave again), live. */
  setFault(mode: FaultMode): { ok: true } | { ok: false; error: string } {
    if (!liveFaultModes.includes(mode)) return { ok: false, error: `unknown behaviour '${mode}'` };
    const host = this.host;
    if (!host) return { ok: false, error: 'not running yet' };
    const keys = this.keys;
    host.setNode((replica) => {
      switch (mode) {
        case 'none':
          return new HonestNode(replica);
        case 'crash':
          return new CrashedNode(replica);
        case 'twins':
          return new TwinsNode(replica, host.newReplica());
        default:
          return wrapReplica(mode, replica, {
            keys,
            chainId: replica.chain.chainId,
            delayMs: 1_500,
            cabal: [keys],
            pickHalf: (ids) => new Set([...ids].sort().filter((_, k) => k % 2 === 0)),
          });
      }
    });
    this.fault = mode;
    return { ok: true };
  }

  /**
   * City traffic on or off, at `perSecond` transactions a second, with up to `depth` in flight per
   * member (more than one only for benchmarks at saturation; see CityTraffic.setDepth).
   */
  setTraffic(on: boolean, perSecond?: number, depth?: number): void {
    this.trafficOn = on;
    if (perSecond !== undefined && Number.isFinite(perSecond))
      this.perSecond = Math.min(Math.max(perSecond, 0.1), 200);
    if (depth !== undefined && Number.isFinite(depth)) {
      this.trafficDepth = depth;
      this.traffic?.setDepth(depth);
    }
  }

  /** Pays a bill by hand, as its household (which this tab must drive). */
  payBill(billId: string): { ok: true; txId: string } | { ok: false; error: string } {
    const host = this.host;
    if (!host || !this.traffic) return { ok: false, error: 'not running yet' };
    if (this.fault === 'crash') return { ok: false, error: 'this validator has crashed' };
    const tx = this.traffic.pay(this.view(host), billId);
    if ('error' in tx) return { ok: false, error: tx.error };
    return { ok: true, txId: this.submitPayment(host, tx) };
  }

  stop(): void {
    if (this.trafficTimer !== null) this.options.clock.clearTimeout(this.trafficTimer);
    this.trafficTimer = null;
    this.validator?.stop();
  }

  snapshot(): TabSnapshot {
    const host = this.host;
    const base = {
      room: this.options.room,
      selfId: this.id,
      name: this.name,
      resumed: this.hasChain,
      fault: this.fault,
      traffic: { on: this.trafficOn, perSecond: this.perSecond, available: this.traffic !== null },
    };
    const stats = {
      framesIn: host?.stats.framesIn ?? 0,
      framesOut: host?.stats.framesOut ?? 0,
      bytesOut: host?.stats.bytesOut ?? 0,
      malformed: host?.stats.malformed ?? 0,
      peersDisconnected: host?.stats.peersDisconnected ?? 0,
      internalErrors: host?.stats.internalErrors ?? 0,
      committedTxs: this.committedTxs,
      committedPayments: this.committedPayments,
      rejectedTxs: this.rejectedTxs,
      latency: this.latency(),
      nativeChecks: host?.verifier.stats.native ?? 0,
      pureJsChecks: host?.verifier.stats.pureJs ?? 0,
    };
    if (!host) {
      return {
        ...base,
        tier: null,
        phase: 'waiting-for-genesis',
        height: 0,
        headHash: '',
        genesisHash: '',
        epoch: 0,
        view: 0,
        primary: null,
        committee: [],
        validators: [],
        peerValidators: [],
        lastBlocks: [],
        households: [],
        bills: [],
        stats,
        ledger: null,
        forkProof: null,
      };
    }
    const replica = host.replica;
    const chain = replica.chain;
    const validators = chain.validatorList().map((v) => ({
      id: v.id,
      name: validatorName(v.id),
      tier: v.tier,
      trust: v.trust,
    }));
    const byId = new Map(validators.map((v) => [v.id, v]));
    const committee = chain.committee.map(
      (id) => byId.get(id) ?? { id, name: validatorName(id), tier: 'core' as const, trust: 0 },
    );
    const lastBlocks = replica.blocks
      .slice(-lastBlocksShown)
      .reverse()
      .map((cb) => ({
        height: cb.block.height,
        hash: cb.certificate.digest,
        proposer: validatorName(cb.block.proposer),
        txCount: cb.block.txs.length,
        view: cb.certificate.view,
      }));
    const view = this.view(host);
    const households = (this.traffic?.households(view) ?? []).map((m) => ({
      id: m.id,
      name: m.name,
      balances: Object.fromEntries(
        assets.map((a) => [a, balanceOf(chain.ledger, m.id, a)]),
      ) as Record<Asset, number>,
    }));
    return {
      ...base,
      tier: chain.tierOf(this.id),
      phase: 'running',
      height: chain.height,
      headHash: chain.headHash,
      genesisHash: chain.genesisHash,
      epoch: chain.epoch,
      view: replica.view,
      primary: chain.committee.length > 0 ? chain.primary(replica.view) : null,
      committee,
      validators,
      peerValidators: host.peerValidators(),
      lastBlocks,
      households,
      bills: this.billViews(households.map((h) => ({ id: h.id, name: h.name }))),
      stats,
      ledger: this.ledgerOf(host),
      forkProof: this.forkWatch?.proof ?? null,
    };
  }

  private latency(): TabSnapshot['stats']['latency'] {
    if (this.latencies.length === 0) return null;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
    return { p50: at(0.5), p99: at(0.99), samples: sorted.length };
  }

  private ledgerOf(host: ValidatorHost): LedgerView {
    const chain = host.replica.chain;
    if (this.ledgerView?.height !== chain.height || this.ledgerView.blocks.length === 0) {
      this.ledgerView = this.ledgerTracker.view(host.replica.blocks, chain.ledger, validatorName, {
        committeeSize: committeeSizeOf(host),
        highValue: chain.config.highValue,
        pending: host.replica.pendingTxs(),
      });
      this.ledgerVersion++;
    }
    return this.ledgerView;
  }

  /**
   * The status page's poll: `snapshot()` and `drainObservations()` in one call, with the ledger
   * view left out when the caller holds version `ledgerHeld` of it (null: it holds none).
   */
  poll(ledgerHeld: number | null): TabPoll {
    const { ledger, ...snapshot } = this.snapshot();
    // snapshot() just built or reused the ledger view: `ledgerVersion` is the version of that one.
    const version = ledger === null ? 0 : this.ledgerVersion;
    return {
      snapshot,
      ledger: version === ledgerHeld ? null : { version, view: ledger },
      observations: this.drainObservations(),
    };
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────

  private view(host: ValidatorHost) {
    return { height: host.replica.chain.height, ledger: host.replica.chain.ledger };
  }

  private billViews(households: readonly { id: string; name: string }[]): BillView[] {
    const host = this.host;
    if (!host) return [];
    const ledger = host.replica.chain.ledger;
    const out: { view: BillView; paidHeight: number }[] = [];
    for (const h of households) {
      for (const bill of billsOf(ledger, { payer: h.id }))
        out.push({ view: this.billView(bill, h.name), paidHeight: bill.paidHeight ?? Infinity });
    }
    // Open bills first (those being paid here before the others), then the most recently paid.
    const rank = (v: BillView) => (v.state === 'pending' ? 0 : v.state === 'issued' ? 1 : 2);
    out.sort(
      (a, b) =>
        b.paidHeight - a.paidHeight ||
        rank(a.view) - rank(b.view) ||
        a.view.id.localeCompare(b.view.id),
    );
    return out.slice(0, billsShown).map((x) => x.view);
  }

  private billView(bill: Bill, payerName: string): BillView {
    const ours = this.billState.get(bill.id);
    let state: BillState = bill.status === 'open' ? 'issued' : 'committed';
    if (ours) state = bill.status === 'paid' && ours.state === 'pending' ? 'committed' : ours.state;
    if (bill.status === 'open' && ours?.state !== 'pending' && ours?.state !== 'rejected')
      state = 'issued';
    return {
      id: bill.id,
      category: bill.category,
      payer: bill.payer,
      payerName,
      asset: bill.asset,
      amount: bill.amount,
      state,
      reason: ours?.reason ?? null,
    };
  }

  private onStarted(genesis: Genesis, fresh: boolean): void {
    const key = storageKey(this.options.room, this.options.slot);
    if (fresh)
      this.saving = this.saving.then(() =>
        this.options.storage.saveGenesis(key, encodeGenesis(genesis)),
      );
    this.genesis = genesis;
    this.forkWatch = new ForkWatch(genesis.ledger.chainId, validatorName(this.id));
    const city = roomCityOf(genesis);
    if (city) {
      const seed = Number.parseInt(this.id.slice(0, 8), 16);
      this.traffic = new CityTraffic(city, this.id, seed);
      this.traffic.setDepth(this.trafficDepth);
      this.scheduleTraffic();
    }
  }

  private scheduleTraffic(): void {
    const tickMs = 250;
    this.trafficTimer = this.options.clock.setTimeout(() => {
      this.trafficTick(tickMs);
      this.scheduleTraffic();
    }, tickMs);
  }

  private trafficTick(elapsedMs: number): void {
    const host = this.host;
    // A crashed validator's clients wait (nothing it is given would be handled).
    if (!host || !this.traffic || !this.trafficOn || this.fault === 'crash') return;
    this.trafficCredit = Math.min(this.trafficCredit + (this.perSecond * elapsedMs) / 1000, 64);
    const count = Math.floor(this.trafficCredit);
    if (count < 1) return;
    this.trafficCredit -= count;
    for (const tx of this.traffic.next(this.view(host), count)) this.submitPayment(host, tx);
  }

  private submitPayment(host: ValidatorHost, tx: Parameters<ValidatorHost['submit']>[0]): string {
    const submittedAt = this.options.clock.now();
    const txId = host.submit(tx);
    if (!this.ownTxs.has(txId)) {
      this.ownTxs.set(txId, {
        type: tx.body.type,
        submittedAt,
        committedAt: null,
        commits: 0,
        rejected: null,
      });
      if (this.ownTxs.size > ownTxsKept) this.ownTxs.delete(this.ownTxs.keys().next().value!);
    }
    if (tx.body.type === 'pay-bill') {
      this.paymentOfTx.set(txId, tx.body.billId);
      this.billState.set(tx.body.billId, { state: 'pending', reason: null });
    }
    return txId;
  }

  private onEvent(event: ReplicaEvent): void {
    this.ledgerTracker.observe(event);
    switch (event.type) {
      case 'commit':
        this.persist();
        break;
      case 'tx-committed': {
        this.traffic?.settled(event.txId);
        const own = this.ownTxs.get(event.txId);
        if (own && event.result.ok) {
          own.commits++;
          if (own.committedAt === null) {
            own.committedAt = this.options.clock.now();
            this.latencies[this.latencyNext++ % latencyKept] = own.committedAt - own.submittedAt;
          }
        } else if (own && !event.result.ok) own.rejected ??= event.result.reason;
        const bill = this.paymentOfTx.get(event.txId);
        if (bill && event.result.ok) this.billState.set(bill, { state: 'committed', reason: null });
        if (bill && !event.result.ok)
          this.billState.set(bill, { state: 'rejected', reason: event.result.reason });
        if (event.result.ok) this.committedTxs++;
        if (event.result.ok && event.result.payment) this.committedPayments++;
        break;
      }
      case 'tx-rejected': {
        this.traffic?.settled(event.txId);
        const own = this.ownTxs.get(event.txId);
        if (own && own.commits === 0) own.rejected ??= event.reason;
        const bill = this.paymentOfTx.get(event.txId);
        if (bill) this.billState.set(bill, { state: 'rejected', reason: event.reason });
        this.rejectedTxs++;
        break;
      }
      case 'payment-settled':
        if (this.billState.has(event.billId))
          this.billState.set(event.billId, { state: 'settled', reason: null });
        break;
    }
    if (drawnEvents.has(event.type))
      this.observe({ kind: 'event', at: this.options.clock.now(), validator: this.id, event });
    this.options.onEvent?.(event);
  }

  private observe(o: Observation): void {
    this.observations.push(o);
    if (this.observations.length > maxObservations) this.observations.splice(0, 1_000);
  }

  /** What happened since the last call, for the views (sent and received here, and events). */
  drainObservations(): Observation[] {
    const out = this.observations;
    this.observations = [];
    return out;
  }

  /** What became of the transactions this tab submitted in [`since`, `until`) of its clock. */
  ownTxReport(since = 0, until = Infinity): OwnTxReport {
    let submitted = 0;
    let committed = 0;
    let pending = 0;
    let committedTwice = 0;
    const committedByType: Record<string, number> = {};
    const rejected: Record<string, number> = {};
    const done: { at: number; latency: number }[] = [];
    for (const tx of this.ownTxs.values()) {
      if (tx.submittedAt < since || tx.submittedAt >= until) continue;
      submitted++;
      if (tx.commits > 0) {
        committed++;
        committedTwice += tx.commits - 1;
        committedByType[tx.type] = (committedByType[tx.type] ?? 0) + 1;
        done.push({ at: tx.committedAt!, latency: tx.committedAt! - tx.submittedAt });
      } else if (tx.rejected !== null) rejected[tx.rejected] = (rejected[tx.rejected] ?? 0) + 1;
      else pending++;
    }
    done.sort((a, b) => a.at - b.at);
    return {
      submitted,
      committed,
      committedByType,
      rejected,
      pending,
      committedTwice,
      latenciesMs: done.map((d) => d.latency),
    };
  }

  /** The committed blocks in (fromHeight, toHeight], and the whole chain checked for repeats. */
  chainAudit(fromHeight: number, toHeight: number): ChainAudit | null {
    const host = this.host;
    if (!host) return null;
    const byType: Record<string, number> = {};
    let blocks = 0;
    let txs = 0;
    let viewChanges = 0;
    let duplicateTxs = 0;
    const seen = new Set<string>();
    for (const { block, certificate } of host.replica.blocks) {
      for (const tx of block.txs) {
        const id = txIdOf(tx);
        if (seen.has(id)) duplicateTxs++;
        seen.add(id);
      }
      if (block.height <= fromHeight || block.height > toHeight) continue;
      blocks++;
      txs += block.txs.length;
      if (certificate.view > 0) viewChanges++;
      for (const tx of block.txs) byType[tx.body.type] = (byType[tx.body.type] ?? 0) + 1;
    }
    let billsPaidTwice = 0;
    for (const times of host.replica.chain.ledger.billPayments.values())
      if (times > 1) billsPaidTwice++;
    return { blocks, txs, byType, viewChanges, duplicateTxs, billsPaidTwice };
  }

  /** The clock `ownTxReport` counts on. */
  now(): number {
    return this.options.clock.now();
  }

  /** Appends newly committed blocks to storage, one write at a time. */
  private persist(): void {
    const host = this.host;
    if (!host) return;
    const blocks = host.replica.blocks;
    if (blocks.length <= this.savedHeight) return;
    const from = this.savedHeight + 1;
    const encoded = blocks
      .slice(this.savedHeight)
      .map((cb) => encodeMessage({ type: 'block-response', blocks: [cb] }));
    this.savedHeight = blocks.length;
    const key = storageKey(this.options.room, this.options.slot);
    this.saving = this.saving.then(() => this.options.storage.saveBlocks(key, from, encoded));
  }

  /** Resolves when everything committed so far is stored. */
  flushed(): Promise<void> {
    return this.saving;
  }
}

/** The size of the committee that decided a height (the current one for heights long past). */
function committeeSizeOf(host: ValidatorHost): (height: number) => number {
  const chain = host.replica.chain;
  return (height) => chain.committeeSizeAt(height) ?? chain.committee.length;
}

export function storageKey(room: string, slot: string): string {
  return `${room}/${slot}`;
}

/** Stored blocks back to committed blocks; stops at the first one that does not decode. */
function decodeStoredBlocks(stored: readonly Uint8Array[]): CommittedBlock[] {
  const out: CommittedBlock[] = [];
  for (const bytes of stored) {
    const m = decodeMessage(bytes);
    if (!m.ok || m.message.type !== 'block-response' || m.message.blocks.length !== 1) break;
    const cb = m.message.blocks[0]!;
    if (cb.block.height !== out.length + 1) break;
    out.push(cb);
  }
  return out;
}

/** What importing a chain file found, with the ledger view of the verified part. */
export type ChainImport =
  | { readonly ok: false; readonly reason: string }
  | {
      readonly ok: true;
      readonly room: string;
      readonly claimed: number;
      readonly verified: number;
      readonly headHash: string;
      readonly stoppedBecause: string | null;
      readonly ledger: LedgerView;
    };

/** Verifies a chain file (see chain-file.ts) and shows its ledger and last blocks. */
export async function importChain(text: string): Promise<ChainImport> {
  const r = await verifyChainFile(text);
  if (!r.ok) return r;
  const tracker = new LedgerTracker();
  for (const e of r.value.events) tracker.observe(e);
  const { replica } = r.value;
  return {
    ok: true,
    room: r.value.room,
    claimed: r.value.claimed,
    verified: r.value.verified,
    headHash: r.value.headHash,
    stoppedBecause: r.value.stoppedBecause,
    ledger: tracker.view(replica.blocks, replica.chain.ledger, validatorName, {
      committeeSize: () => replica.chain.committee.length,
      highValue: replica.chain.config.highValue,
    }),
  };
}
