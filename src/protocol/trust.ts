// Trust arithmetic and tier assignment (DESIGN.md §4.1). Everything here is integer arithmetic on
// what the chain recorded: commit signatures carried in blocks, views a primary let time out, and
// attestations included. Nothing a node observed locally (latency, its own view) feeds trust,
// because Byzantine nodes can lie about local observations; signed, committed evidence cannot lie.

import type { ProtocolConfig, Tier, ValidatorId } from './types.ts';

export interface ValidatorTrust {
  readonly id: ValidatorId;
  readonly name: string;
  readonly trust: number;
  readonly tier: Tier;
  readonly joinedHeight: number;
  /** Epoch in which committed evidence quarantined it, or null. */
  readonly quarantinedAtEpoch: number | null;
  /** Committed offences so far (repeat offenders wait longer). */
  readonly offences: number;
}

/** What the chain recorded about one validator during the current epoch. */
export interface EpochRecord {
  /** Σ q over the commit certificates (carried in this epoch's blocks) of heights where it was a member. */
  commitsExpected: number;
  /** Σ n over those certificates that carry its commit signature (so signing q/n of them scores full). */
  commitsSigned: number;
  /** How many certificates of heights where it was a member were carried, and how many it signed. */
  certificates: number;
  signed: number;
  /** Views that timed out while it was the primary (the certificate's view tells). */
  timeoutsCaused: number;
  /** Blocks it proposed that were committed. */
  proposals: number;
  /** Its attestations included in this epoch's blocks. */
  attestations: number;
}

export function emptyRecord(): EpochRecord {
  return {
    commitsExpected: 0,
    commitsSigned: 0,
    certificates: 0,
    signed: 0,
    timeoutsCaused: 0,
    proposals: 0,
    attestations: 0,
  };
}

export function clampTrust(t: number): number {
  return Math.max(0, Math.min(1000, Math.trunc(t)));
}

/**
 * The epoch's score (0–1000) of a validator in `tier` (the tier it held during the epoch).
 * Core: the share of expected commit signatures that the chain carries, minus a penalty for each
 * view it let time out as primary. Candidates: attestations included per height of the epoch.
 * Observers: one included attestation per epoch is a full score (they attest once per epoch).
 */
export function epochScore(config: ProtocolConfig, tier: Tier, r: EpochRecord): number {
  switch (tier) {
    case 'core': {
      const participation =
        r.commitsExpected === 0
          ? 1000
          : Math.min(1000, Math.floor((1000 * r.commitsSigned) / r.commitsExpected));
      return clampTrust(participation - config.timeoutPenalty * r.timeoutsCaused);
    }
    case 'candidate':
      return clampTrust(
        Math.floor((1000 * Math.min(r.attestations, config.epochLength)) / config.epochLength),
      );
    case 'observer':
      return r.attestations > 0 ? 1000 : 0;
    case 'quarantined':
      return 0;
  }
}

/** trust' = (λ·trust + (1000−λ)·score) / 1000, integer, clamped to 0–1000. */
export function nextTrust(config: ProtocolConfig, trust: number, score: number): number {
  const memory = config.trustMemory;
  return clampTrust(Math.floor((memory * trust + (1000 - memory) * score) / 1000));
}

/** Stable order for ranking: higher trust first, then id (so every node breaks ties alike). */
export function byTrustThenId(a: ValidatorTrust, b: ValidatorTrust): number {
  return b.trust - a.trust || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export interface TierAssignment {
  readonly tiers: ReadonlyMap<ValidatorId, Tier>;
  /** Committee in primary-schedule order: by trust, then id (mlt), or by id (pbft). */
  readonly committee: readonly ValidatorId[];
  readonly candidates: readonly ValidatorId[];
  /** Members that joined the committee only to keep it at `minCore` (below `coreEnter`). */
  readonly toppedUp: ReadonlySet<ValidatorId>;
}

/**
 * Tiers for the next epoch. Core: the `maxCore` most trusted validators with trust ≥ `coreEnter`
 * (current Core members stay while trust ≥ `coreKeep`, so tiers do not flap on one bad epoch).
 * If fewer than `minCore` qualify, the most trusted non-quarantined validators top it up: the
 * committee is never empty. Candidates: the next `maxCandidates` with trust ≥ `candidateEnter`
 * (or ≥ `candidateKeep` if already Candidates). The rest are Observers; quarantined stay so.
 * In flat PBFT every registered validator is in the committee, ordered by id.
 */
export function assignTiers(
  config: ProtocolConfig,
  validators: readonly ValidatorTrust[],
): TierAssignment {
  const tiers = new Map<ValidatorId, Tier>();
  if (config.mode === 'pbft') {
    const committee = validators.map((v) => v.id).sort();
    for (const id of committee) tiers.set(id, 'core');
    return { tiers, committee, candidates: [], toppedUp: new Set() };
  }
  const ranked = validators.filter((v) => v.quarantinedAtEpoch === null).sort(byTrustThenId);
  for (const v of validators) if (v.quarantinedAtEpoch !== null) tiers.set(v.id, 'quarantined');

  const committee: ValidatorId[] = [];
  const toppedUp = new Set<ValidatorId>();
  for (const v of ranked) {
    if (committee.length >= config.maxCore) break;
    const threshold = v.tier === 'core' ? config.coreKeep : config.coreEnter;
    if (v.trust >= threshold) committee.push(v.id);
  }
  const minimum = Math.max(1, Math.min(config.minCore, config.maxCore));
  for (const v of ranked) {
    if (committee.length >= minimum) break;
    if (!committee.includes(v.id)) {
      committee.push(v.id);
      toppedUp.add(v.id);
    }
  }
  // Everyone quarantined: the chain must still advance, so the most trusted offenders serve
  // (trust ties broken by id) until the network forgives someone. Better a visible, watched
  // committee than a halted ledger.
  if (committee.length === 0) {
    for (const v of [...validators].sort(byTrustThenId)) {
      if (committee.length >= minimum) break;
      committee.push(v.id);
      toppedUp.add(v.id);
      tiers.set(v.id, 'core');
    }
  }
  for (const id of committee) tiers.set(id, 'core');

  const candidates: ValidatorId[] = [];
  for (const v of ranked) {
    if (tiers.has(v.id)) continue;
    const threshold =
      v.tier === 'candidate' || v.tier === 'core' ? config.candidateKeep : config.candidateEnter;
    if (candidates.length < config.maxCandidates && v.trust >= threshold) {
      candidates.push(v.id);
      tiers.set(v.id, 'candidate');
    } else {
      tiers.set(v.id, 'observer');
    }
  }
  // Schedule order: the ranking order (trust, then id) restricted to the committee.
  const order = new Map([...validators].sort(byTrustThenId).map((v, i) => [v.id, i]));
  committee.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  return { tiers, committee, candidates, toppedUp };
}
