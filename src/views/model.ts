// What the views draw, built from what a network reports: the validators with their tiers, the
// messages of the last few heights (for the vote-phase diagram and the messages in flight), the
// quorums each member reached, view changes, tier changes with their reasons, and a safety check.
// It is fed the same way by a solo run (every validator's events and every message) and by a live
// tab (its own replica's events and what it sends and receives), and is plain TypeScript with no
// DOM, so it is tested without a browser. The protocol and the ledger know nothing of it.

import type { EpochTally, MessageType, ReplicaEvent, Tier, TierReason } from '../protocol/types.ts';

export type Phase = 'pre-prepare' | 'prepare' | 'commit' | 'view-change' | 'new-view';
export const phases: readonly Phase[] = [
  'pre-prepare',
  'prepare',
  'commit',
  'view-change',
  'new-view',
];

/** The replica events and message types the views use; producers may leave out the rest. */
export const drawnEvents: ReadonlySet<ReplicaEvent['type']> = new Set([
  'proposal',
  'quorum',
  'view-change',
  'new-view',
  'commit',
  'tier-change',
]);
export const drawnMessages: ReadonlySet<MessageType> = new Set(phases);

export interface ValidatorInfo {
  readonly id: string;
  readonly name: string;
  /** Null while it is not (or no longer) in the registry. */
  readonly tier: Tier | null;
  readonly trust: number;
  /** The behaviour injected into it, or null when honest. */
  readonly fault: string | null;
  readonly primary: boolean;
}

export type Observation =
  | {
      readonly kind: 'validators';
      readonly at: number;
      readonly validators: readonly ValidatorInfo[];
    }
  | {
      readonly kind: 'event';
      readonly at: number;
      /** The validator that reported it. */
      readonly validator: string;
      readonly event: ReplicaEvent;
    }
  | {
      readonly kind: 'message';
      readonly at: number;
      readonly stage: 'send' | 'deliver' | 'lost' | 'dropped';
      /** Identifies one message copy across its stages. */
      readonly id: number;
      readonly from: string;
      readonly to: string;
      readonly type: MessageType;
      readonly height?: number;
      readonly view?: number;
    };

export interface MessageArrow {
  readonly id: number;
  readonly phase: Phase;
  readonly from: string;
  readonly to: string;
  readonly height: number;
  readonly view: number;
  readonly sentAt: number;
  /** When it arrived; null while in flight; `lost` for a message the network or the user dropped. */
  readonly deliveredAt: number | null;
  readonly lost: boolean;
}

export interface QuorumMark {
  readonly validator: string;
  readonly phase: 'prepared' | 'committed';
  readonly height: number;
  readonly view: number;
  readonly count: number;
  readonly q: number;
  readonly n: number;
  /** Faults the committee tolerates: n − q for these quorums (n = 3f + 1 gives f). */
  readonly f: number;
  readonly at: number;
}

export interface ViewChangeMark {
  readonly validator: string;
  readonly height: number;
  readonly fromView: number;
  readonly toView: number;
  readonly reason: 'timeout' | 'f+1 view-changes';
  readonly at: number;
}

export interface HeightView {
  readonly height: number;
  /** Members seen voting or proposing at this height, in first-seen order. */
  readonly lanes: readonly string[];
  readonly arrows: readonly MessageArrow[];
  readonly quorums: readonly QuorumMark[];
  readonly viewChanges: readonly ViewChangeMark[];
  readonly startedAt: number;
  /** First commit seen at this height (any validator), or null. */
  readonly committedAt: number | null;
  readonly digest: string | null;
}

export interface TierMove {
  readonly id: string;
  readonly from: Tier | null;
  readonly to: Tier | null;
  readonly trustBefore: number;
  readonly trustAfter: number;
  readonly epoch: number;
  /** In words, e.g. "trust 412 → 731: promoted for participation". */
  readonly text: string;
  readonly at: number;
}

export interface SafetyViolation {
  readonly kind: 'conflicting-commits';
  readonly height: number;
  /** Each digest with the validators that committed it. */
  readonly branches: readonly { readonly digest: string; readonly validators: readonly string[] }[];
}

export interface NetworkView {
  readonly now: number;
  readonly validators: readonly ValidatorInfo[];
  readonly heights: readonly HeightView[];
  readonly inFlight: readonly MessageArrow[];
  readonly moves: readonly TierMove[];
  readonly lastMove: ReadonlyMap<string, TierMove>;
  readonly safety: { readonly ok: boolean; readonly violations: readonly SafetyViolation[] };
  readonly counts: { readonly messages: number; readonly lost: number; readonly commits: number };
}

export interface ViewModelOptions {
  /** Heights kept for the phase diagram (default 4). */
  readonly heightsKept?: number;
  /** Messages drawn in flight at most; the rest are thinned out (default 120). */
  readonly maxInFlight?: number;
  /**
   * A message not seen arriving within this long leaves the in-flight drawing (default 1500 ms;
   * a live tab never sees others receive what it sent).
   */
  readonly flightMs?: number;
  /** Validators whose commits count for safety (default: every one with no fault). */
  readonly honest?: (id: string) => boolean;
}

const reasonText: Record<TierReason, string> = {
  genesis: 'in the genesis',
  joined: 'registered with validator-join',
  'trust-rose': 'trust rose with participation',
  'trust-fell': 'trust fell (missed votes or timeouts)',
  evidence: 'quarantined on committed evidence',
  forgiven: 'quarantine served; starts again at trust 0',
  left: 'left with validator-leave',
  'committee-top-up': 'raised to keep the committee at its minimum size',
};

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** What the epoch recorded of a validator, in words ("signed 8 of 8 commit certificates, …"). */
export function tallyText(t: EpochTally): string {
  const parts = [
    t.certificates > 0 ? `signed ${t.signed} of ${t.certificates} commit certificates` : '',
    t.timeoutsCaused > 0 ? `${plural(t.timeoutsCaused, 'view', 'views')} timed out as primary` : '',
    t.attestations > 0 ? `${plural(t.attestations, 'attestation', 'attestations')} included` : '',
  ].filter(Boolean);
  return parts.length ? `${parts.join(', ')} this epoch` : 'nothing recorded this epoch';
}

function phaseOf(type: MessageType): Phase | null {
  return type === 'pre-prepare' ||
    type === 'prepare' ||
    type === 'commit' ||
    type === 'view-change' ||
    type === 'new-view'
    ? type
    : null;
}

interface MutableHeight {
  height: number;
  lanes: string[];
  arrows: Map<number, MessageArrow>;
  quorums: QuorumMark[];
  viewChanges: ViewChangeMark[];
  startedAt: number;
  committedAt: number | null;
  digest: string | null;
}

export class ViewModel {
  private time = 0;
  private validators: ValidatorInfo[] = [];
  private readonly heights = new Map<number, MutableHeight>();
  private readonly inFlight = new Map<number, MessageArrow>();
  private readonly moves: TierMove[] = [];
  private readonly lastMove = new Map<string, TierMove>();
  /** The copy of `lastMove` views get, made again only after a move (views compare identity). */
  private lastMoveShown: ReadonlyMap<string, TierMove> | null = null;
  /** height → digest → validators that committed it. */
  private readonly commits = new Map<number, Map<string, Set<string>>>();
  private readonly violations: SafetyViolation[] = [];
  private messages = 0;
  private lost = 0;
  private commitCount = 0;
  private readonly heightsKept: number;
  private readonly maxInFlight: number;

  constructor(private readonly options: ViewModelOptions = {}) {
    this.heightsKept = options.heightsKept ?? 4;
    this.maxInFlight = options.maxInFlight ?? 120;
  }

  /** The latest moment observed (what `view().now` says, without building a view). */
  get now(): number {
    return this.time;
  }

  observe(o: Observation): void {
    this.time = Math.max(this.time, o.at);
    const horizon = this.time - (this.options.flightMs ?? 1_500);
    for (const [id, m] of this.inFlight) {
      if (m.sentAt >= horizon) break; // insertion order is send order
      this.inFlight.delete(id);
    }
    switch (o.kind) {
      case 'validators':
        // A live tab reports the registry with every snapshot; keep the list (the same array, so
        // the rings are not laid out again) while nothing in it changed.
        if (!sameValidators(this.validators, o.validators)) this.validators = [...o.validators];
        return;
      case 'message':
        return this.onMessage(o);
      case 'event':
        return this.onEvent(o.at, o.validator, o.event);
    }
  }

  view(): NetworkView {
    const heights = [...this.heights.values()]
      .sort((a, b) => a.height - b.height)
      .map((h) => ({
        height: h.height,
        lanes: [...h.lanes],
        arrows: [...h.arrows.values()],
        quorums: [...h.quorums],
        viewChanges: [...h.viewChanges],
        startedAt: h.startedAt,
        committedAt: h.committedAt,
        digest: h.digest,
      }));
    return {
      now: this.time,
      validators: this.validators,
      heights,
      inFlight: [...this.inFlight.values()],
      moves: this.moves.slice(-50),
      lastMove: (this.lastMoveShown ??= new Map(this.lastMove)),
      safety: { ok: this.violations.length === 0, violations: [...this.violations] },
      counts: { messages: this.messages, lost: this.lost, commits: this.commitCount },
    };
  }

  private heightEntry(height: number, at: number): MutableHeight | null {
    let h = this.heights.get(height);
    if (h) return h;
    const newest = Math.max(0, ...this.heights.keys());
    if (height <= newest - this.heightsKept) return null; // too old to draw
    h = {
      height,
      lanes: [],
      arrows: new Map(),
      quorums: [],
      viewChanges: [],
      startedAt: at,
      committedAt: null,
      digest: null,
    };
    this.heights.set(height, h);
    for (const old of [...this.heights.keys()])
      if (old <= height - this.heightsKept) this.heights.delete(old);
    return h;
  }

  private lane(h: MutableHeight, id: string): void {
    if (!h.lanes.includes(id)) h.lanes.push(id);
  }

  private onMessage(o: Extract<Observation, { kind: 'message' }>): void {
    const phase = phaseOf(o.type);
    if (o.stage === 'send') this.messages++;
    if (o.stage === 'lost' || o.stage === 'dropped') this.lost++;
    const height = o.height;
    if (!phase || height === undefined) return;
    const h = this.heightEntry(height, o.at);
    const fresh = (): MessageArrow => ({
      id: o.id,
      phase,
      from: o.from,
      to: o.to,
      height,
      view: o.view ?? 0,
      sentAt: o.at,
      deliveredAt: null,
      lost: false,
    });
    if (o.stage === 'send') {
      const arrow = fresh();
      if (h) {
        this.lane(h, o.from);
        h.arrows.set(o.id, arrow);
      }
      // Heavy traffic: keep the newest in flight, drop the oldest from the drawing (not the run).
      this.inFlight.set(o.id, arrow);
      if (this.inFlight.size > this.maxInFlight) {
        const oldest = this.inFlight.keys().next().value;
        if (oldest !== undefined) this.inFlight.delete(oldest);
      }
      return;
    }
    const done = (arrow: MessageArrow): MessageArrow =>
      o.stage === 'deliver' ? { ...arrow, deliveredAt: o.at } : { ...arrow, lost: true };
    const flying = this.inFlight.get(o.id);
    this.inFlight.delete(o.id);
    // A live tab sees what it receives (or its fault rule drops) without having seen the send:
    // draw it from the moment it was observed.
    const drawn = h?.arrows.get(o.id) ?? flying ?? fresh();
    if (h) {
      this.lane(h, o.from);
      h.arrows.set(o.id, done(drawn));
    }
  }

  private onEvent(at: number, validator: string, e: ReplicaEvent): void {
    switch (e.type) {
      case 'proposal': {
        const h = this.heightEntry(e.height, at);
        if (h) this.lane(h, e.proposer);
        return;
      }
      case 'quorum': {
        const h = this.heightEntry(e.height, at);
        if (!h) return;
        this.lane(h, validator);
        h.quorums.push({
          validator,
          phase: e.phase,
          height: e.height,
          view: e.view,
          count: e.count,
          q: e.q,
          n: e.n,
          f: Math.floor((e.n - 1) / 3),
          at,
        });
        return;
      }
      case 'view-change': {
        const h = this.heightEntry(e.height, at);
        if (!h) return;
        this.lane(h, validator);
        h.viewChanges.push({
          validator,
          height: e.height,
          fromView: e.fromView,
          toView: e.toView,
          reason: e.reason,
          at,
        });
        return;
      }
      case 'commit': {
        this.commitCount++;
        const h = this.heightEntry(e.height, at);
        if (h && h.committedAt === null) {
          h.committedAt = at;
          h.digest = e.digest;
        }
        this.checkSafety(validator, e.height, e.digest);
        return;
      }
      case 'tier-change': {
        const move: TierMove = {
          id: e.id,
          from: e.from,
          to: e.to,
          trustBefore: e.trustBefore,
          trustAfter: e.trustAfter,
          epoch: e.epoch,
          text: `trust ${e.trustBefore} → ${e.trustAfter}: ${reasonText[e.reason]}${e.tally ? ` (${tallyText(e.tally)})` : ''}`,
          at,
        };
        // Every validator reports the same move; keep one. A validator that lags (catching up)
        // reports moves of epochs already shown: they are neither new nor the latest.
        const last = this.lastMove.get(e.id);
        if (last && (move.epoch < last.epoch || (last.epoch === move.epoch && last.to === move.to)))
          return;
        this.lastMove.set(e.id, move);
        this.lastMoveShown = null;
        this.moves.push(move);
        return;
      }
      default:
        return;
    }
  }

  private checkSafety(validator: string, height: number, digest: string): void {
    const honest = this.options.honest ?? ((id: string) => !this.faultOf(id));
    if (!honest(validator)) return;
    let byDigest = this.commits.get(height);
    if (!byDigest) {
      byDigest = new Map();
      this.commits.set(height, byDigest);
    }
    const set = byDigest.get(digest) ?? new Set<string>();
    set.add(validator);
    byDigest.set(digest, set);
    if (byDigest.size === 2 && set.size === 1) {
      this.violations.push({
        kind: 'conflicting-commits',
        height,
        branches: [...byDigest].map(([d, vs]) => ({ digest: d, validators: [...vs] })),
      });
    }
    // Keep the memory bounded: heights far below are settled.
    for (const h of this.commits.keys()) if (h < height - 256) this.commits.delete(h);
  }

  private faultOf(id: string): string | null {
    return this.validators.find((v) => v.id === id)?.fault ?? null;
  }
}

function sameValidators(a: readonly ValidatorInfo[], b: readonly ValidatorInfo[]): boolean {
  return (
    a.length === b.length &&
    a.every((v, i) => {
      const w = b[i]!;
      return (
        v.id === w.id &&
        v.name === w.name &&
        v.tier === w.tier &&
        v.trust === w.trust &&
        v.fault === w.fault &&
        v.primary === w.primary
      );
    })
  );
}
