// Solo mode: one tab runs a whole simulated network (the deterministic simulator) and the user
// drives it: step one item at a time, run for a while, deliver a chosen message early or drop it,
// and go back to any earlier step. Going back rebuilds the run from its seed and replays the steps
// and the interventions, so a run is a pure function of a small spec (config, interventions,
// step) that fits in a share link (`?solo=…`). No wall clock and no unseeded randomness here.

import { decodeCanonical, encodeCanonical, type DecodeResult } from '../crypto/encoding.ts';
import { faultModes, type FaultMode } from '../faults/index.ts';
import { validatorName } from '../net/names.ts';
import { LedgerTracker, type LedgerView } from '../views/ledger-view.ts';
import type { CostFigures } from '../views/cost.ts';
import { encodeMessage } from '../protocol/codec.ts';
import type { ProtocolMode, ReplicaEvent, Tier } from '../protocol/types.ts';
import { configErrors, defaultNetwork, defaultSimConfig, type SimConfig } from '../sim/config.ts';
import {
  Simulation,
  type EndReason,
  type PendingItem,
  type SimMessage,
  type SimSummary,
} from '../sim/simulator.ts';

// ── configuration and the run spec ────────────────────────────────────────────────────────────

export interface SoloConfig {
  readonly protocol: ProtocolMode;
  readonly validators: number;
  readonly byzantine: number;
  readonly fault: FaultMode;
  readonly seed: number;
  /** City transactions per virtual second (an integer; 0 = empty blocks only). */
  readonly txPerSecond: number;
}

export const defaultSoloConfig: SoloConfig = {
  protocol: 'mlt',
  validators: 4,
  byzantine: 0,
  fault: 'none',
  seed: 1,
  txPerSecond: 2,
};

/** Most validators a solo run (and so a share link) may ask for: one tab runs them all. */
export const maxSoloValidators = 100;
export const maxSoloTxPerSecond = 1_000;

/** An intervention the user made: after `atStep` steps, delivered (early) or dropped item `id`. */
export interface SoloIntervention {
  readonly atStep: number;
  readonly action: 'deliver' | 'drop';
  /** The queue id (`PendingItem.id`), the same in every replay of the run. */
  readonly id: number;
}

/** Everything needed to rebuild a solo run exactly: JSON-able, and short once encoded. */
export interface SoloRunSpec {
  readonly config: SoloConfig;
  /** The recorded timeline (may reach past `step`: what stepping forward will replay). */
  readonly interventions: readonly SoloIntervention[];
  readonly step: number;
}

/** The URL query parameter of a share link. */
export const soloParam = 'solo';

const maxSpecChars = 200_000;
const maxInterventions = 50_000;
const maxStep = 10_000_000;
const maxId = 0x7fffffff;
const specVersion = 1;

/** The simulator configuration of a solo run: no target height and no time limit. */
export function soloSimConfig(c: SoloConfig): SimConfig {
  return {
    ...defaultSimConfig,
    protocol: c.protocol,
    validators: c.validators,
    byzantine: c.byzantine,
    fault: c.fault,
    seed: c.seed,
    txPerSecond: c.txPerSecond,
    blocks: 1_000_000,
    maxVirtualMs: Number.MAX_SAFE_INTEGER,
    trafficUntilMs: Number.MAX_SAFE_INTEGER,
    network: defaultNetwork,
    keepTrace: false,
  };
}

function isInt(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}

/** Every reason `c` is not a valid solo configuration (empty when it is). */
export function soloConfigErrors(c: SoloConfig): string[] {
  const errors: string[] = [];
  if (c.protocol !== 'mlt' && c.protocol !== 'pbft')
    errors.push(`protocol must be mlt or pbft, got ${String(c.protocol)}`);
  if (!isInt(c.validators, 1, maxSoloValidators))
    errors.push(`validators must be an integer from 1 to ${maxSoloValidators}`);
  if (!isInt(c.byzantine, 0, isInt(c.validators, 1, maxSoloValidators) ? c.validators : 0))
    errors.push('byzantine must be an integer from 0 to the number of validators');
  if (!(faultModes as readonly unknown[]).includes(c.fault))
    errors.push(`unknown fault ${String(c.fault)}`);
  if (!isInt(c.seed, 0, 0x7fffffff)) errors.push('seed must be an integer from 0 to 2^31 − 1');
  if (!isInt(c.txPerSecond, 0, maxSoloTxPerSecond))
    errors.push(`txPerSecond must be an integer from 0 to ${maxSoloTxPerSecond}`);
  return errors.length > 0 ? errors : configErrors(soloSimConfig(c));
}

/**
 * Every reason `list` is not a timeline a run could have recorded (empty when it is): steps in
 * order, and nothing else at the step a delivery used up (a delivery is itself a step).
 */
export function timelineErrors(list: readonly SoloIntervention[]): string[] {
  if (list.length > maxInterventions) return [`more than ${maxInterventions} interventions`];
  let floor = 0;
  for (const [k, iv] of list.entries()) {
    if (iv.action !== 'deliver' && iv.action !== 'drop')
      return [`intervention ${k}: unknown action`];
    if (!isInt(iv.atStep, 0, maxStep) || !isInt(iv.id, 0, maxId))
      return [`intervention ${k}: atStep and id must be non-negative integers`];
    if (iv.atStep < floor) return [`intervention ${k}: out of order`];
    floor = iv.action === 'deliver' ? iv.atStep + 1 : iv.atStep;
  }
  return [];
}

/**
 * URL-safe text of a spec: base64url (unpadded) of canonical CBOR
 * `[1, [protocol, N, byzantine, fault, seed, txPerSecond], step, [a, b, a, b, …]]` with, per
 * intervention, `a = 2·Δstep + (drop ? 1 : 0)` and `b = Δid` (both from the previous one; ids of
 * successive interventions are close, so most take a byte or two). Throws on an invalid spec.
 */
export function encodeRunSpec(spec: SoloRunSpec): string {
  const errors = [
    ...soloConfigErrors(spec.config),
    ...timelineErrors(spec.interventions),
    ...(isInt(spec.step, 0, maxStep) ? [] : ['step must be a non-negative integer']),
  ];
  if (errors.length > 0) throw new RangeError(errors.join('; '));
  const c = spec.config;
  const flat: number[] = [];
  let lastStep = 0;
  let lastId = 0;
  for (const iv of spec.interventions) {
    flat.push(2 * (iv.atStep - lastStep) + (iv.action === 'drop' ? 1 : 0), iv.id - lastId);
    lastStep = iv.atStep;
    lastId = iv.id;
  }
  return toBase64Url(
    encodeCanonical([
      specVersion,
      [c.protocol, c.validators, c.byzantine, c.fault, c.seed, c.txPerSecond],
      spec.step,
      flat,
    ]),
  );
}

/** The spec in `text` (from `encodeRunSpec`); never throws, whatever `text` is. */
export function decodeRunSpec(text: unknown): DecodeResult<SoloRunSpec> {
  const fail = (reason: string): DecodeResult<SoloRunSpec> => ({ ok: false, reason });
  if (typeof text !== 'string') return fail('not a string');
  if (text.length === 0) return fail('empty');
  if (text.length > maxSpecChars) return fail('too long');
  const bytes = fromBase64Url(text);
  if (!bytes) return fail('not base64url');
  const decoded = decodeCanonical(bytes);
  if (!decoded.ok) return fail(decoded.reason);
  const v = decoded.value;
  if (!Array.isArray(v) || v.length !== 4) return fail('not a run spec');
  const [version, c, step, flat] = v as unknown[];
  if (version !== specVersion) return fail(`unknown version ${String(version)}`);
  if (!Array.isArray(c) || c.length !== 6) return fail('bad config');
  const [protocol, validators, byzantine, fault, seed, txPerSecond] = c as unknown[];
  if (typeof protocol !== 'string' || typeof fault !== 'string') return fail('bad config');
  const config = { protocol, validators, byzantine, fault, seed, txPerSecond } as SoloConfig;
  const configProblems = soloConfigErrors(config);
  if (configProblems.length > 0) return fail(configProblems[0]!);
  if (!isInt(step, 0, maxStep)) return fail('bad step');
  if (!Array.isArray(flat) || flat.length % 2 !== 0 || flat.length > 2 * maxInterventions)
    return fail('bad interventions');
  const interventions: SoloIntervention[] = [];
  let atStep = 0;
  let id = 0;
  for (let i = 0; i < flat.length; i += 2) {
    const [a, b] = [flat[i], flat[i + 1]] as unknown[];
    if (!isInt(a, 0, 2 * maxStep + 1) || !isInt(b, -maxId, maxId)) return fail('bad interventions');
    atStep += Math.floor(a / 2);
    id += b;
    if (atStep > maxStep || id < 0 || id > maxId) return fail('bad interventions');
    interventions.push({ atStep, action: a % 2 === 0 ? 'deliver' : 'drop', id });
  }
  const timelineProblems = timelineErrors(interventions);
  if (timelineProblems.length > 0) return fail(timelineProblems[0]!);
  return { ok: true, value: { config, interventions, step } };
}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const alphabetIndex = new Map([...alphabet].map((ch, i) => [ch, i]));

export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let k = 0; k < chars; k++) out += alphabet[(n >> (18 - 6 * k)) & 63];
  }
  return out;
}

/** Bytes of unpadded base64url text, or null (bad characters, impossible length, stray bits). */
export function fromBase64Url(text: string): Uint8Array | null {
  if (text.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (const ch of text) {
    const v = alphabetIndex.get(ch);
    if (v === undefined) return null;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  // The leftover bits must be zero, so that each byte string has exactly one text.
  if ((acc & ((1 << bits) - 1)) !== 0) return null;
  return out;
}

// ── what the views see ────────────────────────────────────────────────────────────────────────

export interface SoloValidatorView {
  /** Network endpoint (a twin is a second endpoint of one validator). */
  readonly index: number;
  readonly validator: number;
  readonly id: string;
  readonly name: string;
  /** Tier and trust as the most advanced honest replica sees them (null: not registered). */
  readonly tier: Tier | null;
  readonly trust: number | null;
  /** The Byzantine behaviour, null for an honest validator. */
  readonly fault: FaultMode | null;
  /** Primary of the height and view the most advanced honest replica is deciding. */
  readonly isPrimary: boolean;
  /** Its own last committed height and head. */
  readonly height: number;
  readonly headHash: string;
  /** Its own view of the height it is deciding. */
  readonly view: number;
  readonly up: boolean;
}

export interface SoloSnapshot {
  readonly step: number;
  readonly virtualTime: number;
  readonly over: EndReason | null;
  /** Lowest committed height among honest validators. */
  readonly height: number;
  readonly pending: number;
  readonly traceHash: string;
  readonly validators: readonly SoloValidatorView[];
}

/**
 * What the views draw. `step` is the step that produced it (a drop: the step it was made after).
 * `reset` follows `seek` backwards: nothing of the replay is sent; redraw from `snapshot()` and
 * `recent()`.
 */
export type SoloObservation =
  | { readonly kind: 'message'; readonly step: number; readonly message: SimMessage }
  | {
      readonly kind: 'event';
      readonly step: number;
      readonly at: number;
      readonly endpoint: number;
      readonly validator: number;
      readonly event: ReplicaEvent;
    }
  | { readonly kind: 'reset'; readonly step: number };

export type SoloResult<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface SoloOptions {
  /** How many observations `recent()` keeps (default 5 000). */
  readonly keepRecent?: number;
}

// ── the session ───────────────────────────────────────────────────────────────────────────────

/**
 * One solo run. A step is one queued item handled, by `step`/`runFor` or by `deliverNext`;
 * `drop` is no step. The interventions form a timeline: `seek` back keeps it, and stepping
 * forward replays it (redo); a new intervention behind its end discards the rest of it.
 * Calls that change the run (`step`, `runFor`, `deliverNext`, `drop`, `seek`, `clearFuture`) take
 * turns: one made while another is under way waits for it (so a click during a `runFor` lands
 * between two steps, and is recorded where it happened).
 */
export class SoloSession {
  readonly config: SoloConfig;
  private readonly simConfig: SimConfig;
  private sim!: Simulation;
  private readonly ledgerTracker = new LedgerTracker();
  /** Bytes of every message sent between validators (as the live wire would carry them). */
  private bytesSent = 0;
  /** Encoded size of each message object (a broadcast is one object sent to every member). */
  private sizes = new WeakMap<object, number>();
  /** The endpoint whose ledger the views show: the first honest one. */
  private viewEndpoint = 0;
  private stepsDone = 0;
  private timeline: SoloIntervention[] = [];
  /** How many timeline entries the current run has applied. */
  private applied = 0;
  /** The step observations are tagged with while an item is handled. */
  private tag = 0;
  private replaying = false;
  private readonly listeners = new Set<(o: SoloObservation) => void>();
  private log: SoloObservation[] = [];
  private readonly keepRecent: number;
  private turn: Promise<unknown> = Promise.resolve();
  private pendingTurns = 0;

  constructor(config: SoloConfig = defaultSoloConfig, options: SoloOptions = {}) {
    const errors = soloConfigErrors(config);
    if (errors.length > 0) throw new RangeError(errors.join('; '));
    this.config = { ...config };
    this.simConfig = soloSimConfig(config);
    this.keepRecent = Math.max(0, options.keepRecent ?? 5_000);
    this.rebuild();
  }

  /** A session rebuilt from a spec (as decoded from a link), at its step; never throws. */
  static async fromSpec(
    spec: SoloRunSpec,
    options: SoloOptions = {},
  ): Promise<SoloResult<SoloSession>> {
    const errors = [
      ...soloConfigErrors(spec.config),
      ...timelineErrors(spec.interventions),
      ...(isInt(spec.step, 0, maxStep) ? [] : ['step must be a non-negative integer']),
    ];
    if (errors.length > 0) return { ok: false, reason: errors[0]! };
    try {
      const session = new SoloSession(spec.config, options);
      session.timeline = spec.interventions.map((iv) => ({ ...iv }));
      session.replaying = true;
      try {
        session.applyDrops();
        while (session.stepsDone < spec.step && (await session.advance()));
      } finally {
        session.replaying = false;
      }
      if (session.stepsDone < spec.step)
        return { ok: false, reason: `the run ends after step ${session.stepsDone}` };
      return { ok: true, value: session };
    } catch (error) {
      return { ok: false, reason: (error as Error).message };
    }
  }

  /** Steps taken (items handled, deliveries on demand included). */
  get stepCount(): number {
    return this.stepsDone;
  }

  /** Interventions applied so far, in order. */
  get interventions(): readonly SoloIntervention[] {
    return this.timeline.slice(0, this.applied);
  }

  /** The whole recorded timeline, including what stepping forward will replay. */
  get recordedInterventions(): readonly SoloIntervention[] {
    return [...this.timeline];
  }

  get virtualTime(): number {
    return this.sim.virtualTime;
  }

  /** Why the run cannot go on by itself (null while it can). */
  get over(): EndReason | null {
    return this.sim.endReason();
  }

  /** Queued items in the order they would be handled. */
  pending(): PendingItem[] {
    return this.sim.pending();
  }

  /** True while a call that changes the run is under way or waiting for its turn. */
  get busy(): boolean {
    return this.pendingTurns > 0;
  }

  /** Up to `count` steps (following the recorded timeline); returns how many were taken. */
  step(count = 1): Promise<number> {
    return this.exclusive(() => this.stepUnlocked(count));
  }

  /**
   * Steps through every item due within the next `virtualMs` of virtual time (at most
   * `maxSteps`, to keep a tab responsive); returns how many were taken. The clock only moves
   * with the items, so it may stay short of the window's end.
   */
  runFor(virtualMs: number, maxSteps = 100_000): Promise<number> {
    return this.exclusive(async () => {
      const until = this.sim.virtualTime + Math.max(0, virtualMs);
      let taken = 0;
      while (taken < maxSteps) {
        const next = this.nextTime();
        if (next === null || next > until || !(await this.advance())) break;
        taken++;
      }
      return taken;
    });
  }

  /** Intervention: handle queued item `id` now, ahead of its turn (a step). False if not queued. */
  deliverNext(id: number): Promise<boolean> {
    return this.exclusive(async () => {
      const next = this.timeline[this.applied];
      if (next?.action === 'deliver' && next.atStep === this.stepsDone && next.id === id)
        return this.advance(); // exactly what the timeline holds: keep the rest of it
      if (!this.sim.pendingItem(id)) return false;
      this.timeline.length = this.applied;
      this.timeline.push({ atStep: this.stepsDone, action: 'deliver', id });
      return this.advance();
    });
  }

  /** Intervention: remove queued item `id` unhandled (not a step). False if not queued. */
  drop(id: number): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.sim.pendingItem(id)) return false;
      this.timeline.length = this.applied;
      this.timeline.push({ atStep: this.stepsDone, action: 'drop', id });
      this.applyDrops();
      return true;
    });
  }

  /** Forgets the recorded interventions not applied yet (stepping forward then goes its own way). */
  clearFuture(): Promise<void> {
    return this.exclusive(async () => {
      this.timeline.length = this.applied;
    });
  }

  /**
   * Goes to step `target`: forward by stepping, back by rebuilding from the seed and replaying
   * steps and interventions (then a `reset` observation). Stops early if the run ends first.
   */
  seek(target: number): Promise<void> {
    if (!Number.isSafeInteger(target) || target < 0)
      return Promise.reject(
        new RangeError(`seek needs a non-negative integer step, got ${target}`),
      );
    return this.exclusive(async () => {
      if (target >= this.stepsDone) {
        await this.stepUnlocked(target - this.stepsDone);
        return;
      }
      this.replaying = true;
      try {
        this.rebuild();
        while (this.stepsDone < target && (await this.advance()));
      } finally {
        this.replaying = false;
      }
      this.notify({ kind: 'reset', step: this.stepsDone });
    });
  }

  /** The spec that rebuilds this session exactly (timeline included). */
  spec(): SoloRunSpec {
    return {
      config: { ...this.config },
      interventions: this.timeline.map((iv) => ({ ...iv })),
      step: this.stepsDone,
    };
  }

  /** Subscribe to what happens (not called for replays); returns the unsubscribe function. */
  subscribe(listener: (o: SoloObservation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The last observations (at most `keepRecent`), oldest first, replays included. */
  recent(): readonly SoloObservation[] {
    return this.log.slice(this.log.length - Math.min(this.keepRecent, this.log.length));
  }

  /** Summary of the run so far (as the CLI prints at the end, without the final ledger check). */
  summary(): SimSummary {
    return this.sim.summaryNow();
  }

  traceHash(): string {
    return this.sim.traceHash();
  }

  /** The simulation itself (read-only use: stepping it directly would bypass the timeline). */
  get simulation(): Simulation {
    return this.sim;
  }

  /** What the run has cost so far, for the cost meter. */
  cost(
    label = this.simConfig.protocol === 'pbft' ? 'flat PBFT' : 'multi-level trust',
  ): CostFigures {
    const s = this.sim.summaryNow();
    return {
      label,
      payments: s.payments.committed,
      heights: s.height,
      messages: s.messages.total,
      bytes: this.bytesSent,
      signatureChecks: s.verification.cacheHits,
      latency:
        s.latency.p50 !== null && s.latency.p99 !== null
          ? { p50: s.latency.p50, p99: s.latency.p99 }
          : null,
      scope: `all ${s.validators} validators, on the virtual clock; signature checks each validator made`,
    };
  }

  /** The endpoint of the validator in view (the first honest one): its ledger is shown. */
  get endpointInView(): number {
    return this.viewEndpoint;
  }

  /** The ledger and the last blocks of the first honest validator (the one in view). */
  ledger(): LedgerView {
    const replica = this.sim.endpoints[this.viewEndpoint]!.node.replica;
    return this.ledgerTracker.view(replica.blocks, replica.chain.ledger, validatorName, {
      committeeSize: () => replica.chain.committee.length,
      highValue: replica.chain.config.highValue,
      pending: replica.pendingTxs(),
    });
  }

  snapshot(): SoloSnapshot {
    const sim = this.sim;
    const reference = sim.referenceReplica();
    const primary = reference.chain.primary(reference.view);
    const validators = sim.endpoints.map((e): SoloValidatorView => {
      const replica = e.node.replica;
      const registered = reference.chain.validators.get(replica.id);
      return {
        index: e.index,
        validator: e.validator,
        id: replica.id,
        name: validatorName(replica.id),
        tier: registered?.tier ?? null,
        trust: registered?.trust ?? null,
        fault: e.byzantine ? sim.config.fault : null,
        isPrimary: replica.id === primary,
        height: replica.chain.height,
        headHash: replica.chain.headHash,
        view: replica.view,
        up: e.up && e.started,
      };
    });
    return {
      step: this.stepsDone,
      virtualTime: sim.virtualTime,
      over: sim.endReason(),
      height: sim.minHonestHeight(),
      pending: sim.pendingCount(),
      traceHash: sim.traceHash(),
      validators,
    };
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────────

  /** Runs `op` after every earlier call that changes the run. */
  private exclusive<T>(op: () => Promise<T>): Promise<T> {
    this.pendingTurns++;
    const result = this.turn.then(op).finally(() => this.pendingTurns--);
    this.turn = result.catch(() => undefined);
    return result;
  }

  private async stepUnlocked(count: number): Promise<number> {
    let taken = 0;
    while (taken < count && (await this.advance())) taken++;
    return taken;
  }

  private rebuild(): void {
    this.stepsDone = 0;
    this.applied = 0;
    this.tag = 0;
    this.log = [];
    this.ledgerTracker.clear();
    this.bytesSent = 0;
    this.sim = new Simulation(this.simConfig, {
      onMessage: (message) => this.observe({ kind: 'message', step: this.tag, message }),
      onEvent: (endpoint, at, event) =>
        this.observe({
          kind: 'event',
          step: this.tag,
          at,
          endpoint,
          validator: this.sim.endpoints[endpoint]!.validator,
          event,
        }),
    });
    this.viewEndpoint = this.sim.endpoints.find((e) => !e.byzantine)?.index ?? 0;
    this.sim.begin();
    this.applyDrops();
  }

  /** When the next step would happen (a recorded delivery: now). */
  private nextTime(): number | null {
    const next = this.timeline[this.applied];
    if (next?.action === 'deliver' && next.atStep === this.stepsDone) return this.sim.virtualTime;
    return this.sim.endReason() === null ? this.sim.nextTime() : null;
  }

  /** One step: the recorded delivery due now, else the next queued item; then due drops. */
  private async advance(): Promise<boolean> {
    const next = this.timeline[this.applied];
    this.tag = this.stepsDone + 1;
    let handled: boolean;
    if (next?.action === 'deliver' && next.atStep === this.stepsDone) {
      if (!(await this.sim.deliverNext(next.id)))
        throw new Error(`replay: item ${next.id} is not queued at step ${next.atStep}`);
      this.applied++;
      handled = true;
    } else {
      handled = await this.sim.stepOnce();
    }
    if (handled) this.stepsDone++;
    this.applyDrops(); // also sets the tag back to the step reached
    return handled;
  }

  /** Applies the recorded drops made after the current step. */
  private applyDrops(): void {
    this.tag = this.stepsDone;
    for (;;) {
      const next = this.timeline[this.applied];
      if (!next || next.action !== 'drop' || next.atStep !== this.stepsDone) return;
      if (!this.sim.drop(next.id))
        throw new Error(`replay: item ${next.id} is not queued at step ${next.atStep}`);
      this.applied++;
    }
  }

  private observe(o: SoloObservation): void {
    if (o.kind === 'event' && o.endpoint === this.viewEndpoint) this.ledgerTracker.observe(o.event);
    if (o.kind === 'message' && o.message.kind === 'send') {
      const m = o.message.message;
      let size = this.sizes.get(m);
      if (size === undefined) {
        size = encodeMessage(m).length;
        this.sizes.set(m, size);
      }
      this.bytesSent += size;
    }
    this.log.push(o);
    // (slice from an index: `slice(-0)` would keep everything)
    if (this.log.length > 2 * this.keepRecent + 64)
      this.log = this.log.slice(this.log.length - this.keepRecent);
    this.notify(o);
  }

  private notify(o: SoloObservation): void {
    if (this.replaying) return;
    for (const listener of this.listeners) {
      // A listener that throws must not stop the simulation half-way through an item.
      try {
        listener(o);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
