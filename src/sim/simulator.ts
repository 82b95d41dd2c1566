// The deterministic simulator: many replicas in one process, a virtual clock, a seeded network
// (latency, loss, duplication, partitions, GST), the fault schedule, the city workload, and a
// monitor that checks agreement and the ledger invariants across all honest replicas while the
// run goes. A run is a pure function of its configuration: same seed, same trace, byte for byte.

import { heightAndView } from '../protocol/about.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { SignatureVerifier } from '../crypto/verify.ts';
import { encodeCanonical, sha256Bytes, toHex, utf8Bytes } from '../crypto/encoding.ts';
import { generateKeyPair, type KeyPair } from '../crypto/keys.ts';
import { createCity, createWorkload, type City, type CityWorkload } from '../ledger/city.ts';
import { accountOf, checkInvariants, signTx, txIdOf } from '../ledger/ledger.ts';
import type { RejectReason, SignedTx } from '../ledger/types.ts';
import { wrapReplica, type FaultMode, type Node } from '../faults/index.ts';
import { mayBecomeValid, Replica } from '../protocol/replica.ts';
import { signedItemsOf } from '../protocol/signing.ts';
import {
  categoryOf,
  type Genesis,
  type Message,
  type MessageCategory,
  type MessageType,
  type ReplicaEvent,
  type ReplicaOutput,
  type Timer,
  type TimerKind,
  type ValidatorId,
} from '../protocol/types.ts';
import { configErrors, protocolConfigOf, type SimConfig } from './config.ts';
import { EventQueue, type Scheduled } from './queue.ts';
import { Rng } from './rng.ts';

type Work =
  | { kind: 'deliver'; to: number; from: ValidatorId; fromEndpoint: number; message: Message }
  | { kind: 'timer'; endpoint: number; incarnation: number; timer: Timer }
  | { kind: 'submit'; endpoint: number; tx: SignedTx }
  | { kind: 'traffic' }
  | { kind: 'crash'; endpoint: number }
  | { kind: 'restart'; endpoint: number; keepState: boolean }
  | { kind: 'join'; joiner: number }
  | { kind: 'leave'; validator: number };

/** What a queued item does: deliver a message, fire a timer, submit a client transaction… */
export type WorkKind = Work['kind'];

/** One network endpoint: a validator's replica (twins are two endpoints with one key). */
interface Endpoint {
  readonly index: number;
  /** Index of the validator (twins share it); joiners come after the genesis validators. */
  readonly validator: number;
  readonly keys: KeyPair;
  readonly byzantine: boolean;
  verifier: SignatureVerifier;
  node: Node;
  up: boolean;
  /** Bumped on every restart so timers set before a crash are ignored. */
  incarnation: number;
  started: boolean;
}

export interface SimSummary {
  readonly protocol: string;
  readonly validators: number;
  readonly byzantine: number;
  readonly fault: FaultMode;
  readonly seed: number;
  /** Lowest committed height among honest validators. */
  readonly height: number;
  readonly targetReached: boolean;
  readonly virtualMs: number;
  readonly safety: {
    readonly agreement: boolean;
    readonly forks: number;
    readonly invariantViolations: readonly string[];
    readonly committeeAgreement: boolean;
    /** Every transaction an honest node committed was submitted by a client and applied. */
    readonly validity: boolean;
    /**
     * No honest validator was convicted: honest replicas committed evidence only against
     * Byzantine ones (a validator restarted without its state may really sign twice, and is not
     * counted as honest here).
     */
    readonly accountability: boolean;
    /** Ids of the honest validators that committed evidence names (empty when it holds). */
    readonly honestConvicted: readonly string[];
  };
  readonly payments: {
    readonly submitted: number;
    readonly committed: number;
    readonly settled: number;
    readonly rejected: number;
    readonly highValueCommitted: number;
    readonly highValueSettled: number;
  };
  /**
   * `wrongOutcome`: valid transactions rejected plus invalid ones committed that failed for a final
   * reason (must be 0). `curedLater`: invalid attempts held for a curable reason (overspending,
   * unknown bill, future nonce) that became valid while they waited, and committed.
   * `reasonMismatches`: invalid attempts rejected for another reason than the one they were
   * made for (possible when the state moved on before the check; informational).
   */
  readonly transactions: {
    readonly submitted: number;
    readonly committed: number;
    readonly rejected: number;
    readonly validPending: number;
    readonly wrongOutcome: number;
    readonly reasonMismatches: number;
    readonly curedLater: number;
    readonly resubmissions: number;
  };
  readonly tiers: {
    readonly core: readonly string[];
    readonly candidate: readonly string[];
    readonly observer: readonly string[];
    readonly quarantined: readonly string[];
  };
  readonly trust: Readonly<Record<string, number>>;
  readonly byzantineIds: readonly string[];
  readonly messages: {
    readonly total: number;
    readonly perHeight: number;
    readonly consensusPerHeight: number;
    readonly byCategory: Readonly<Record<MessageCategory, number>>;
    readonly dropped: number;
  };
  readonly viewChanges: number;
  readonly evidenceCommitted: number;
  readonly latency: { readonly p50: number | null; readonly p99: number | null };
  readonly verification: {
    readonly sharedCache: boolean;
    readonly verified: number;
    readonly cacheHits: number;
  };
  readonly traceHash: string;
  readonly wallMs: number;
}

export interface SimProgress {
  readonly virtualMs: number;
  readonly height: number;
  readonly target: number;
}

/**
 * Why a message between validators did not arrive: the sender's fault wrapper withheld it, a
 * partition or random loss ate it on the way (both decided when it is sent), or the receiver
 * was down when it arrived.
 */
export type LossReason = 'withheld' | 'partition' | 'loss' | 'down';

/**
 * One step in the life of a message between two validators, for views. Every `send` of a copy
 * that enters the network (`seq` set) ends in exactly one `deliver`, `lost` (reason `down`) or
 * `dropped` (by `Simulation.drop`), unless the run stops first; a send the network loses at once
 * (`lost` set on the send, `seq` null) is followed by a `lost` at the same instant. Duplicated
 * messages are two sends with two `seq`s.
 */
export interface SimMessage {
  readonly at: number;
  readonly kind: 'send' | 'deliver' | 'lost' | 'dropped';
  /** Queue id of this copy's delivery (`PendingItem.id`); null when lost as it was sent. */
  readonly seq: number | null;
  /** Validator indices (twins share theirs; joiners come after the genesis validators). */
  readonly from: number;
  readonly to: number;
  readonly fromEndpoint: number;
  readonly toEndpoint: number;
  readonly type: MessageType;
  readonly category: MessageCategory;
  readonly height: number | null;
  readonly view: number | null;
  /** `send`: the virtual time it is due (null when lost). */
  readonly deliverAt: number | null;
  /** `send` and `lost`: whether and why the network loses it (null when it will arrive). */
  readonly lost: LossReason | null;
  /** The message itself (one object for every copy of a broadcast; read it, do not change it). */
  readonly message: Message;
}

export interface SimHooks {
  /** Called now and then with how far the run got (the CLI prints it). */
  readonly onProgress?: (p: SimProgress) => void;
  /** Every event of every endpoint, in order. */
  readonly onEvent?: (endpoint: number, at: number, event: ReplicaEvent) => void;
  /** Every message between validators: sent, delivered, lost or dropped (client submissions are not). */
  readonly onMessage?: (m: SimMessage) => void;
}

/** One item waiting in the queue, as `Simulation.pending()` lists it. */
export interface PendingItem {
  /** The queue's sequence number: stable while it waits, and the same in every replay. */
  readonly id: number;
  /** Virtual time it is due. */
  readonly time: number;
  readonly kind: WorkKind;
  /** `deliver`: the sending validator and endpoint (null for every other kind). */
  readonly from: number | null;
  readonly fromEndpoint: number | null;
  /** The validator and endpoint it concerns (receiver, timer owner, crashing one…); null for `traffic`. */
  readonly to: number | null;
  readonly toEndpoint: number | null;
  /** `deliver`: the message type; `submit`: 'tx'. */
  readonly type: MessageType | null;
  /** `deliver` (where the message has them) and `timer`. */
  readonly height: number | null;
  readonly view: number | null;
  readonly timer: TimerKind | null;
}

/** Why a run stops by its own rules (null: it goes on). */
export type EndReason = 'empty' | 'time-limit' | 'target' | 'finished';

const delayFaultMs = 1_500;

export class Simulation {
  readonly config: SimConfig;
  readonly genesis: Genesis;
  readonly city: City;
  readonly endpoints: Endpoint[] = [];
  readonly byzantineValidators: ReadonlySet<number>;
  private readonly rng: Rng;
  private readonly networkRng: Rng;
  private readonly queue = new EventQueue<Work>();
  private readonly workload: CityWorkload;
  private readonly sharedVerifier: SignatureVerifier | null;
  private readonly verifiers: SignatureVerifier[] = [];
  private now = 0;
  private readonly trace = sha256.create();
  private readonly joinerKeys: KeyPair[] = [];

  // Monitor state.
  private readonly decided = new Map<number, string>(); // height → digest first committed by an honest node
  private forks = 0;
  private readonly forkHeights = new Set<number>();
  private readonly stateAtEpoch = new Map<number, string>();
  private committeeDisagreements = 0;
  /** Validators that evidence committed by an honest replica names. */
  private readonly convicted = new Set<string>();
  /** Validators restarted without their state: they can sign twice and be rightly convicted. */
  private readonly amnesiac = new Set<string>();
  private invalidCommits = 0;
  private readonly invariantViolations: string[] = [];
  private readonly messageCounts: Record<MessageCategory, number> = {
    consensus: 0,
    dissemination: 0,
    attestation: 0,
    sync: 0,
    client: 0,
  };
  private dropped = 0;
  private readonly submittedAt = new Map<
    string,
    { at: number; expect: string; kind: string; isPayment: boolean }
  >();
  private readonly committedAt = new Map<string, number>();
  private readonly rejected = new Map<string, string>();
  private readonly settled = new Set<string>();
  private readonly highValue = new Set<string>();
  /** Distinct committed offences (offender, kind, height) seen by any honest replica. */
  private readonly evidenceCommitted = new Set<string>();
  private resubmissions = 0;
  private readonly events: { endpoint: number; at: number; event: ReplicaEvent }[] = [];

  // Stepping state.
  private phase: 'new' | 'running' | 'finished' = 'new';
  private targetMet = false;
  private lastProgress = 0;
  private finalSummary: SimSummary | null = null;

  constructor(
    config: SimConfig,
    private readonly hooks: SimHooks = {},
  ) {
    const errors = configErrors(config);
    if (errors.length > 0) throw new RangeError(errors.join('; '));
    this.config = config;
    this.rng = new Rng(config.seed);
    this.networkRng = this.rng.fork();
    const chainId = toHex(
      sha256Bytes(
        encodeCanonical(['tierbft/sim', config.seed, config.validators, config.protocol]),
      ),
    );
    this.city = createCity({
      seed: config.seed,
      households: config.households,
      chainId,
      validators: config.validators,
    });
    const protocol = protocolConfigOf(config);

    // Byzantine validators: chosen by the seed, at least one of them in the first committee.
    const shuffled = this.rng.shuffle([...Array(config.validators).keys()]);
    const chosen = shuffled.slice(0, config.byzantine);
    // Some of them sit in the first committee (with equal genesis trust, the first maxCore by id),
    // except sleepers, whose whole point is to start outside it.
    const firstCommittee = new Set(
      this.city.validators
        .map((v, i) => [v.id, i] as const)
        .sort((a, b) => (a[0] < b[0] ? -1 : 1))
        .slice(0, protocol.maxCore)
        .map(([, i]) => i),
    );
    if (
      config.fault !== 'sleeper' &&
      chosen.length > 0 &&
      !chosen.some((i) => firstCommittee.has(i))
    ) {
      chosen[0] = shuffled.find((i) => firstCommittee.has(i))!;
    }
    const byzantine = new Set(config.byzantineValidators ?? chosen);
    this.byzantineValidators = byzantine;
    const initialTrust: Record<string, number> = {};
    if (config.fault === 'sleeper') {
      // Sleepers start where every newcomer starts: trusted by no one.
      for (const i of byzantine) initialTrust[this.city.validators[i]!.id] = protocol.newcomerTrust;
    }
    this.genesis = { config: protocol, ledger: this.city.genesis(), initialTrust };
    this.sharedVerifier = config.sharedVerificationCache ? new SignatureVerifier() : null;

    // Endpoints 0…N−1 are the validators; a twin (same key) comes after them, in validator order.
    for (let v = 0; v < config.validators; v++) {
      const isByzantine = byzantine.has(v);
      this.addEndpoint(
        v,
        this.city.validators[v]!.keys,
        isByzantine,
        isByzantine ? config.fault : 'none',
      );
    }
    if (config.fault === 'twins') {
      for (const v of [...byzantine].sort((a, b) => a - b))
        this.addEndpoint(v, this.city.validators[v]!.keys, true, 'twins');
    }
    for (let j = 0; j < config.joiners; j++) {
      this.joinerKeys.push(
        generateKeyPair(sha256Bytes(encodeCanonical(['tierbft/sim/joiner', config.seed, j]))),
      );
    }
    this.workload = createWorkload(this.city, {
      seed: config.seed,
      invalidShare: config.invalidShare,
    });
  }

  private addEndpoint(
    validator: number,
    keys: KeyPair,
    byzantine: boolean,
    fault: FaultMode,
  ): Endpoint {
    const index = this.endpoints.length;
    const verifier = this.newVerifier();
    const endpoint: Endpoint = {
      index,
      validator,
      keys,
      byzantine,
      verifier,
      node: this.makeNode(keys, fault, verifier),
      up: true,
      incarnation: 0,
      started: false,
    };
    this.endpoints.push(endpoint);
    return endpoint;
  }

  /** The shared cache, or a fresh one per replica (every verifier is kept for the stats). */
  private newVerifier(): SignatureVerifier {
    if (this.sharedVerifier) return this.sharedVerifier;
    const verifier = new SignatureVerifier();
    this.verifiers.push(verifier);
    return verifier;
  }

  private makeNode(keys: KeyPair, fault: FaultMode, verifier: SignatureVerifier): Node {
    const replica = new Replica({
      genesis: this.genesis,
      keys,
      check: (pk, msg, sig) => verifier.check(pk, msg, sig),
    });
    const faultRng = this.rng.fork();
    const cabal =
      fault === 'equivocate'
        ? [...this.byzantineValidators].map((i) => this.city.validators[i]!.keys)
        : [];
    return wrapReplica(fault, replica, {
      keys,
      chainId: this.genesis.ledger.chainId,
      delayMs: delayFaultMs,
      cabal,
      pickHalf: (ids) => new Set(faultRng.shuffle(ids).slice(0, Math.ceil(ids.length / 2))),
    });
  }

  private honest(): Endpoint[] {
    return this.endpoints.filter((e) => !e.byzantine);
  }

  // ── the run ───────────────────────────────────────────────────────────────────────────────

  /** Runs to the end: `begin`, `stepOnce` until it says the run is over, `finish`. */
  async run(): Promise<SimSummary> {
    const wallStart = performance.now();
    this.begin();
    while (await this.stepOnce());
    return this.finish(performance.now() - wallStart);
  }

  /** Schedules the initial work (starts, traffic, crashes, restarts, joins, leaves). Once. */
  begin(): void {
    if (this.phase !== 'new') throw new Error('Simulation.begin() may be called once');
    this.phase = 'running';
    const c = this.config;
    for (const e of this.endpoints)
      this.queue.push(0, { kind: 'restart', endpoint: e.index, keepState: true });
    if (c.txPerSecond > 0) this.queue.push(100, { kind: 'traffic' });
    for (const r of c.restarts) {
      for (const e of this.endpoints.filter((x) => x.validator === r.validator)) {
        this.queue.push(r.crashAtMs, { kind: 'crash', endpoint: e.index });
        this.queue.push(r.restartAtMs, {
          kind: 'restart',
          endpoint: e.index,
          keepState: r.keepState,
        });
      }
    }
    if (c.fault === 'crash') {
      for (const e of this.endpoints.filter((x) => x.byzantine))
        this.queue.push(this.rng.int(0, 5_000), { kind: 'crash', endpoint: e.index });
    }
    this.joinerKeys.forEach((_, j) =>
      this.queue.push(2_000 + j * 500, { kind: 'join', joiner: j }),
    );
    for (let k = 0; k < c.leavers; k++) {
      this.queue.push(2_000 + k * 500, { kind: 'leave', validator: c.validators - 1 - k });
    }
  }

  /**
   * Why the run is over by its own rules, or null while it goes on: the queue is empty, the next
   * item is due after the virtual-time limit, every honest validator reached the target height
   * (and the traffic drained) after the last item handled, or `finish` was called.
   */
  endReason(): EndReason | null {
    if (this.phase === 'finished') return 'finished';
    if (this.targetMet) return 'target';
    const next = this.queue.peek();
    if (!next) return 'empty';
    if (next.time > this.config.maxVirtualMs) return 'time-limit';
    return null;
  }

  /**
   * Handles the next queued item (the clock moves to its time). Returns false, handling nothing,
   * when the run is over (`endReason()`); `while (await sim.stepOnce());` is the whole run.
   */
  async stepOnce(): Promise<boolean> {
    this.mustBeRunning();
    if (this.endReason() !== null) return false;
    const next = this.queue.pop()!;
    this.now = next.time;
    await this.handle(next);
    return true;
  }

  /**
   * Intervention: handles the queued item `id` right away, ahead of its turn, at the *current*
   * virtual time (the clock never goes back, and every other item keeps its time and order; a
   * message arrives early, as if its link were faster). Allowed on any kind of item and even
   * when the run is over by its own rules. Recorded in the trace. False when `id` is not queued.
   */
  async deliverNext(id: number): Promise<boolean> {
    this.mustBeRunning(true);
    const item = this.queue.remove(id);
    if (!item) return false;
    this.record(['early', this.now, id]);
    await this.handle(item);
    return true;
  }

  /**
   * Intervention: removes the queued item `id` unhandled (a message lost, a timer that never
   * fires…). Recorded in the trace; reported to `onMessage` as `dropped` for a delivery. False
   * when `id` is not queued.
   */
  drop(id: number): boolean {
    this.mustBeRunning(true);
    const item = this.queue.remove(id);
    if (!item) return false;
    this.record(['drop', this.now, id]);
    if (item.item.kind === 'deliver' && this.hooks.onMessage)
      this.hooks.onMessage(this.messageOf('dropped', item.item, id, null, null));
    return true;
  }

  /** Every queued item in the order it would be handled. */
  pending(): PendingItem[] {
    return this.queue.items().map((s) => this.pendingOf(s));
  }

  /** How many items are queued. */
  pendingCount(): number {
    return this.queue.size;
  }

  /** The queued item `id`, or null. */
  pendingItem(id: number): PendingItem | null {
    const s = this.queue.find(id);
    return s ? this.pendingOf(s) : null;
  }

  /** Ends the run: checks every honest ledger and returns the summary (the same one if called again). */
  finish(wallMs = 0): SimSummary {
    if (this.finalSummary) return this.finalSummary;
    this.phase = 'finished';
    this.checkLedgers();
    this.finalSummary = this.summary(wallMs);
    return this.finalSummary;
  }

  /** The summary of the run so far (without the end-of-run ledger check; wallMs 0). */
  summaryNow(): SimSummary {
    return this.finalSummary ?? this.summary(0);
  }

  /** SHA-256 of the trace so far (what the summary will report if the run ends now). */
  traceHash(): string {
    return toHex(this.trace.clone().digest());
  }

  /** When the next queued item is due (null when the queue is empty). */
  nextTime(): number | null {
    return this.queue.peekTime() ?? null;
  }

  /** Current virtual time (ms): the time of the last item handled. */
  get virtualTime(): number {
    return this.now;
  }

  private mustBeRunning(intervention = false): void {
    if (this.phase === 'new') throw new Error('call Simulation.begin() first');
    if (intervention && this.phase === 'finished') throw new Error('the run is finished');
  }

  private async handle(next: Scheduled<Work>): Promise<void> {
    const c = this.config;
    await this.step(next.item, next.seq);
    if (this.minHonestHeight() >= c.blocks && this.trafficDrained()) {
      this.targetMet = true;
      return;
    }
    if (this.hooks.onProgress && this.now - this.lastProgress >= 1_000) {
      this.lastProgress = this.now;
      this.hooks.onProgress({
        virtualMs: this.now,
        height: this.minHonestHeight(),
        target: c.blocks,
      });
    }
  }

  private pendingOf(s: Scheduled<Work>): PendingItem {
    const w = s.item;
    const base = {
      id: s.seq,
      time: s.time,
      kind: w.kind,
      from: null,
      fromEndpoint: null,
      to: null,
      toEndpoint: null,
      type: null,
      height: null,
      view: null,
      timer: null,
    };
    const at = (endpoint: number) => ({
      to: this.endpoints[endpoint]!.validator,
      toEndpoint: endpoint,
    });
    switch (w.kind) {
      case 'deliver':
        return {
          ...base,
          ...at(w.to),
          from: this.endpoints[w.fromEndpoint]!.validator,
          fromEndpoint: w.fromEndpoint,
          type: w.message.type,
          ...heightAndView(w.message),
        };
      case 'timer':
        return {
          ...base,
          ...at(w.endpoint),
          timer: w.timer.kind,
          height: w.timer.height,
          view: w.timer.view,
        };
      case 'submit':
        return { ...base, ...at(w.endpoint), type: 'tx' };
      case 'crash':
      case 'restart':
        return { ...base, ...at(w.endpoint) };
      case 'join':
        return { ...base, to: this.config.validators + w.joiner };
      case 'leave':
        return { ...base, to: w.validator };
      case 'traffic':
        return base;
    }
  }

  private messageOf(
    kind: SimMessage['kind'],
    w: Extract<Work, { kind: 'deliver' }>,
    seq: number | null,
    deliverAt: number | null,
    lost: LossReason | null,
  ): SimMessage {
    const hv = heightAndView(w.message);
    return {
      at: this.now,
      kind,
      seq,
      from: this.endpoints[w.fromEndpoint]!.validator,
      to: this.endpoints[w.to]!.validator,
      fromEndpoint: w.fromEndpoint,
      toEndpoint: w.to,
      type: w.message.type,
      category: categoryOf(w.message.type),
      height: hv.height,
      view: hv.view,
      deliverAt,
      lost,
      message: w.message,
    };
  }

  /** With traffic off, or once its window closed and every valid transaction settled or was judged. */
  private trafficDrained(): boolean {
    if (this.config.txPerSecond === 0) return true;
    if (this.now < this.config.trafficUntilMs)
      return this.config.trafficUntilMs === Number.MAX_SAFE_INTEGER;
    for (const [id, s] of this.submittedAt)
      if (s.expect === 'ok' && !this.committedAt.has(id) && !this.rejected.has(id)) return false;
    // Level 2 too: every committed high-value payment has been settled by attestations.
    for (const id of this.highValue) if (!this.settled.has(id)) return false;
    return true;
  }

  private async step(work: Work, seq: number): Promise<void> {
    switch (work.kind) {
      case 'deliver': {
        const e = this.endpoints[work.to]!;
        if (!e.up || !e.started) {
          this.hooks.onMessage?.(this.messageOf('lost', work, seq, null, 'down'));
          return;
        }
        this.hooks.onMessage?.(this.messageOf('deliver', work, seq, null, null));
        this.record(['d', this.now, work.to, work.fromEndpoint, work.message.type]);
        await e.verifier.preverify(signedItemsOf(this.genesis.ledger.chainId, work.message));
        this.apply(
          e,
          e.node.handle({ type: 'message', now: this.now, from: work.from, message: work.message }),
        );
        return;
      }
      case 'timer': {
        const e = this.endpoints[work.endpoint]!;
        if (!e.up || e.incarnation !== work.incarnation) return;
        this.record([
          't',
          this.now,
          work.endpoint,
          work.timer.kind,
          work.timer.height,
          work.timer.view,
        ]);
        this.apply(e, e.node.handle({ type: 'timer', now: this.now, timer: work.timer }));
        return;
      }
      case 'submit': {
        const e = this.endpoints[work.endpoint]!;
        if (!e.up || !e.started) return;
        this.messageCounts.client++;
        await e.verifier.preverify(
          signedItemsOf(this.genesis.ledger.chainId, { type: 'tx', tx: work.tx }),
        );
        this.apply(e, e.node.handle({ type: 'submit', now: this.now, tx: work.tx }));
        return;
      }
      case 'traffic':
        this.generateTraffic();
        return;
      case 'crash': {
        const e = this.endpoints[work.endpoint]!;
        e.up = false;
        this.record(['crash', this.now, e.index]);
        return;
      }
      case 'restart': {
        const e = this.endpoints[work.endpoint]!;
        if (e.started && !work.keepState) {
          // Amnesia: a new process, with an empty cache as well as an empty chain.
          this.amnesiac.add(toHex(e.keys.publicKey));
          e.verifier = this.newVerifier();
          e.node = this.makeNode(e.keys, e.node.fault, e.verifier);
        }
        e.up = true;
        e.started = true;
        e.incarnation++;
        this.record(['start', this.now, e.index, work.keepState]);
        this.apply(e, e.node.handle({ type: 'start', now: this.now }));
        return;
      }
      case 'join':
        this.join(work.joiner);
        return;
      case 'leave': {
        const keys = this.city.validators[work.validator]!.keys;
        const id = toHex(keys.publicKey);
        const nonce = accountOf(this.referenceReplica().chain.ledger, id)?.nonce ?? 0;
        const body = { type: 'validator-leave', nonce } as const;
        this.submitEverywhere(
          signTx(this.genesis.ledger.chainId, keys.secretKey, id, body),
          'ok',
          'validator-leave',
          false,
        );
        return;
      }
    }
  }

  private join(j: number): void {
    const keys = this.joinerKeys[j]!;
    const validator = this.config.validators + j;
    const e = this.addEndpoint(validator, keys, false, 'none');
    e.started = true;
    e.incarnation = 1;
    this.apply(e, e.node.handle({ type: 'start', now: this.now }));
    const id = toHex(keys.publicKey);
    const tx = signTx(this.genesis.ledger.chainId, keys.secretKey, id, {
      type: 'validator-join',
      nonce: 0,
      name: `Newcomer ${j + 1}`,
    });
    this.submitEverywhere(tx, 'ok', 'validator-join', false);
  }

  private generateTraffic(): void {
    // Clients read the most advanced honest replica (its view never goes backwards); replicas
    // that lag hold a payment for a bill they have not seen yet until they catch up.
    const reference = this.referenceReplica();
    const perTick = Math.max(1, Math.round(this.config.txPerSecond / 10));
    const batch = this.workload.nextBatch(
      { height: reference.height, ledger: reference.chain.ledger },
      perTick,
    );
    for (const item of batch)
      this.submitEverywhere(item.tx, item.expect, item.kind, item.tx.body.type === 'pay-bill');
    const next = this.now + 100;
    if (next < this.config.trafficUntilMs) this.queue.push(next, { kind: 'traffic' });
  }

  /** A client sends its transaction to every validator (so a Byzantine one cannot bury it). */
  private submitEverywhere(tx: SignedTx, expect: string, kind: string, isPayment: boolean): void {
    const id = txIdOfCached(tx);
    // A replay is the very same transaction again: it keeps the first submission's record.
    if (this.submittedAt.has(id)) this.resubmissions++;
    else this.submittedAt.set(id, { at: this.now, expect, kind, isPayment });
    // Twins split their clients: each transaction reaches one copy of a twinned validator, so
    // the two copies hold different mempools and propose different blocks.
    const twinned = new Set(this.endpoints.slice(this.config.validators).map((e) => e.validator));
    const chosen = new Map<number, number>();
    for (const v of twinned)
      chosen.set(v, this.networkRng.pick(this.endpoints.filter((x) => x.validator === v)).index);
    for (const e of this.endpoints) {
      if (twinned.has(e.validator) && chosen.get(e.validator) !== e.index) continue;
      this.queue.push(this.now + this.latency(), { kind: 'submit', endpoint: e.index, tx });
    }
  }

  private latency(): number {
    const n = this.config.network;
    const max =
      this.now < n.gstMs ? Math.max(n.latencyMaxMs, n.preGstMaxLatencyMs) : n.latencyMaxMs;
    return this.networkRng.int(n.latencyMinMs, max);
  }

  private partitioned(a: number, b: number): boolean {
    for (const p of this.config.network.partitions) {
      if (this.now < p.startMs || this.now >= p.endMs) continue;
      const key = (i: number) => (p.byEndpoint ? i : this.endpoints[i]!.validator);
      const ga = p.groups.findIndex((g) => g.includes(key(a)));
      const gb = p.groups.findIndex((g) => g.includes(key(b)));
      if (ga !== gb) return true;
    }
    return false;
  }

  private apply(e: Endpoint, out: ReplicaOutput): void {
    for (const timer of out.timers)
      this.queue.push(this.now + timer.afterMs, {
        kind: 'timer',
        endpoint: e.index,
        incarnation: e.incarnation,
        timer,
      });
    for (const event of out.events) this.observe(e, event);
    const n = this.config.network;
    for (const envelope of out.messages) {
      const category = categoryOf(envelope.message.type);
      this.messageCounts[category]++;
      const rule = e.node.linkRule?.(envelope.to) ?? { drop: false, extraDelayMs: 0 };
      const onMessage = this.hooks.onMessage;
      for (const target of this.endpoints) {
        if (target.index === e.index || toHexCached(target.keys.publicKey) !== envelope.to)
          continue;
        const work = {
          kind: 'deliver',
          to: target.index,
          from: e.node.id,
          fromEndpoint: e.index,
          message: envelope.message,
        } as const;
        // The order of the draws below is part of the trace: do not reorder.
        let lost: LossReason | null = null;
        if (rule.drop) lost = 'withheld';
        else if (this.partitioned(e.index, target.index)) lost = 'partition';
        else if ((n.gstMs === 0 || this.now < n.gstMs) && this.networkRng.chance(n.loss))
          lost = 'loss';
        if (lost !== null) {
          if (onMessage) {
            onMessage(this.messageOf('send', work, null, null, lost));
            onMessage(this.messageOf('lost', work, null, null, lost));
          }
          continue;
        }
        const copies = this.networkRng.chance(n.duplicate) ? 2 : 1;
        for (let k = 0; k < copies; k++) {
          const at = this.now + this.latency() + rule.extraDelayMs;
          const seq = this.queue.push(at, work);
          onMessage?.(this.messageOf('send', work, seq, at, null));
        }
      }
    }
  }

  // ── the monitor ───────────────────────────────────────────────────────────────────────────

  private record(entry: unknown[]): void {
    this.trace.update(utf8Bytes(JSON.stringify(entry)));
  }

  private observe(e: Endpoint, event: ReplicaEvent): void {
    this.record(['e', e.index, event]);
    if (this.config.keepTrace) this.events.push({ endpoint: e.index, at: this.now, event });
    this.hooks.onEvent?.(e.index, this.now, event);
    if (event.type === 'dropped') this.dropped++;
    if (e.byzantine) return;
    switch (event.type) {
      case 'commit': {
        const earlier = this.decided.get(event.height);
        if (earlier === undefined) this.decided.set(event.height, event.digest);
        else if (earlier !== event.digest && !this.forkHeights.has(event.height)) {
          this.forks++;
          this.forkHeights.add(event.height);
        }
        if (event.height % 16 === 0) {
          for (const v of checkInvariants(e.node.replica.chain.ledger))
            this.noteViolation(`${e.index}@${event.height}: ${v}`);
        }
        return;
      }
      case 'epoch': {
        // Every honest node that executed the same blocks must hold the same committee and trust.
        const seen = this.stateAtEpoch.get(event.epoch);
        if (seen === undefined) this.stateAtEpoch.set(event.epoch, event.stateDigest);
        else if (seen !== event.stateDigest && this.forks === 0) this.committeeDisagreements++;
        return;
      }
      case 'tx-committed': {
        if (!this.committedAt.has(event.txId)) this.committedAt.set(event.txId, this.now);
        // Validity: nothing appears in an honest chain that no client sent, or that failed.
        if (!this.submittedAt.has(event.txId) || !event.result.ok) {
          this.invalidCommits++;
          this.noteViolation(
            `validator ${e.index} committed ${event.txId.slice(0, 12)}, which ${event.result.ok ? 'no client submitted' : 'was rejected'}`,
          );
        }
        const payment = event.result.ok ? event.result.payment : null;
        if (payment && payment.amount >= e.node.replica.chain.config.highValue)
          this.highValue.add(event.txId);
        return;
      }
      case 'tx-rejected':
        if (!this.rejected.has(event.txId) && e.index === this.referenceEndpoint().index)
          this.rejected.set(event.txId, event.reason);
        return;
      case 'payment-settled':
        this.settled.add(event.txId);
        return;
      case 'evidence':
        if (event.stage === 'committed') {
          this.evidenceCommitted.add(`${event.offender}/${event.kind}/${event.height}`);
          this.convicted.add(event.offender);
        }
        return;
      default:
        return;
    }
  }

  private noteViolation(v: string): void {
    if (this.invariantViolations.length < 50) this.invariantViolations.push(v);
  }

  private checkLedgers(): void {
    for (const e of this.honest()) {
      if (!e.started) continue;
      for (const v of checkInvariants(e.node.replica.chain.ledger))
        this.noteViolation(`validator ${e.index}: ${v}`);
    }
  }

  /** The honest endpoint with the highest committed height (ties: lowest index). */
  private referenceEndpoint(): Endpoint {
    let best = this.honest()[0] ?? this.endpoints[0]!;
    for (const e of this.honest())
      if (e.node.replica.chain.height > best.node.replica.chain.height) best = e;
    return best;
  }

  referenceReplica(): Replica {
    return this.referenceEndpoint().node.replica;
  }

  /** Lowest committed height among honest genesis validators and joiners that are up. */
  minHonestHeight(): number {
    let min = Number.MAX_SAFE_INTEGER;
    for (const e of this.honest()) if (e.started) min = Math.min(min, e.node.replica.chain.height);
    return min === Number.MAX_SAFE_INTEGER ? 0 : min;
  }

  get recordedEvents(): readonly { endpoint: number; at: number; event: ReplicaEvent }[] {
    return this.events;
  }

  private summary(wallMs: number): SimSummary {
    const c = this.config;
    const reference = this.referenceReplica();
    const byzantineIds = [...this.byzantineValidators]
      .sort((a, b) => a - b)
      .map((i) => this.city.validators[i]!.id);
    const honestConvicted = [...this.convicted]
      .filter((id) => !byzantineIds.includes(id) && !this.amnesiac.has(id))
      .sort();
    const tiers = {
      core: [] as string[],
      candidate: [] as string[],
      observer: [] as string[],
      quarantined: [] as string[],
    };
    const trust: Record<string, number> = {};
    for (const v of reference.chain.validatorList()) {
      tiers[v.tier].push(v.id);
      trust[v.id] = v.trust;
    }
    let paySubmitted = 0;
    let payCommitted = 0;
    let payRejected = 0;
    let paySettled = 0;
    let hvCommitted = 0;
    let wrongOutcome = 0;
    let reasonMismatches = 0;
    let curedLater = 0;
    let validPending = 0;
    const latencies: number[] = [];
    for (const [id, s] of this.submittedAt) {
      const committed = this.committedAt.get(id);
      const rejected = this.rejected.get(id);
      if (s.expect === 'ok' && committed === undefined) {
        if (rejected !== undefined) wrongOutcome++;
        else validPending++;
      }
      // An invalid attempt that was only held (say, overspending before a pending top-up landed)
      // may legitimately commit later; one that failed for a final reason never may.
      if (s.expect !== 'ok' && committed !== undefined) {
        if (mayBecomeValid.has(s.expect as RejectReason)) curedLater++;
        else wrongOutcome++;
      }
      if (s.expect !== 'ok' && rejected !== undefined && rejected !== s.expect) reasonMismatches++;
      if (committed !== undefined) latencies.push(committed - s.at);
      if (!s.isPayment) continue;
      paySubmitted++;
      if (committed !== undefined) {
        payCommitted++;
        if (this.highValue.has(id)) hvCommitted++;
        // Low-value payments are final at commit; high-value ones once level 2 settled them.
        if (!this.highValue.has(id) || this.settled.has(id)) paySettled++;
      }
      if (rejected !== undefined) payRejected++;
    }
    latencies.sort((a, b) => a - b);
    const quantile = (p: number) =>
      latencies.length === 0
        ? null
        : latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
    const height = this.minHonestHeight();
    const total = Object.values(this.messageCounts).reduce((a, b) => a + b, 0);
    const all = this.sharedVerifier ? [this.sharedVerifier] : this.verifiers;
    const verification = {
      sharedCache: this.sharedVerifier !== null,
      verified: all.reduce((a, v) => a + v.stats.native + v.stats.pureJs, 0),
      cacheHits: all.reduce((a, v) => a + v.stats.hits, 0),
    };
    const reachedHeight = Math.max(1, reference.chain.height);
    let viewChanges = 0;
    for (const b of reference.blocks)
      if (b.block.lastCommit) viewChanges += b.block.lastCommit.view;
    return {
      protocol: c.protocol,
      validators: c.validators,
      byzantine: c.byzantine,
      fault: c.fault,
      seed: c.seed,
      height,
      targetReached: height >= c.blocks,
      virtualMs: this.now,
      safety: {
        agreement: this.forks === 0,
        forks: this.forks,
        invariantViolations: this.invariantViolations,
        committeeAgreement: this.committeeDisagreements === 0,
        validity: this.invalidCommits === 0,
        accountability: honestConvicted.length === 0,
        honestConvicted,
      },
      payments: {
        submitted: paySubmitted,
        committed: payCommitted,
        settled: paySettled,
        rejected: payRejected,
        highValueCommitted: hvCommitted,
        highValueSettled: [...this.settled].filter((id) => this.committedAt.has(id)).length,
      },
      transactions: {
        submitted: this.submittedAt.size,
        committed: [...this.submittedAt.keys()].filter((id) => this.committedAt.has(id)).length,
        rejected: [...this.submittedAt.keys()].filter((id) => this.rejected.has(id)).length,
        validPending,
        wrongOutcome,
        reasonMismatches,
        curedLater,
        resubmissions: this.resubmissions,
      },
      tiers,
      trust,
      byzantineIds,
      messages: {
        total,
        perHeight: Math.round(total / reachedHeight),
        consensusPerHeight: Math.round(this.messageCounts.consensus / reachedHeight),
        byCategory: { ...this.messageCounts },
        dropped: this.dropped,
      },
      viewChanges,
      evidenceCommitted: this.evidenceCommitted.size,
      latency: { p50: quantile(0.5), p99: quantile(0.99) },
      verification,
      traceHash: this.traceHash(),
      wallMs: Math.round(wallMs),
    };
  }
}

const txIds = new WeakMap<SignedTx, string>();
function txIdOfCached(tx: SignedTx): string {
  let id = txIds.get(tx);
  if (id === undefined) {
    id = txIdOf(tx);
    txIds.set(tx, id);
  }
  return id;
}

const hexes = new WeakMap<Uint8Array, string>();
function toHexCached(bytes: Uint8Array): string {
  let h = hexes.get(bytes);
  if (h === undefined) {
    h = toHex(bytes);
    hexes.set(bytes, h);
  }
  return h;
}

/** Runs one simulation to its end. */
export async function simulate(config: SimConfig, hooks?: SimHooks): Promise<SimSummary> {
  return new Simulation(config, hooks).run();
}
