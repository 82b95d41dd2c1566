// Solo mode: a whole simulated network in one worker (the deterministic simulator, stepped by the
// page). It turns the run's observations into the views' vocabulary (validator ids, message ids)
// and hands them over in batches with a snapshot; the page only draws.

import * as Comlink from 'comlink';
import {
  SoloSession,
  decodeRunSpec,
  defaultSoloConfig,
  encodeRunSpec,
  type SoloConfig,
  type SoloObservation,
  type SoloSnapshot,
} from '../src/solo/session.ts';
import type { PendingItem } from '../src/sim/simulator.ts';
import { lessonById, runLessonStep } from '../src/solo/lessons.ts';
import { drawnEvents, drawnMessages, type Observation } from '../src/views/model.ts';
import type { LedgerView } from '../src/views/ledger-view.ts';
import type { CostFigures } from '../src/views/cost.ts';
import { compareProtocols, type Comparison } from '../src/solo/compare.ts';
import { safetyProof, type SafetyProof } from '../src/solo/proof.ts';
import { importTrace, traceFileOf } from '../src/solo/trace.ts';

let session: SoloSession | null = null;
let unsubscribe: (() => void) | null = null;
let buffer: Observation[] = [];
let reset = false;
let ids: string[] = [];
let lostIds = -1;
/**
 * Where playing has got to on the virtual clock. The simulator's clock moves only when an item is
 * handled, so the quiet stretches between blocks are crossed here.
 */
let cursor = 0;

function convert(o: SoloObservation): Observation[] {
  if (o.kind === 'reset') return [];
  if (o.kind === 'event') {
    // What the views do not draw stays here (copying it to the page would only cost).
    if (!drawnEvents.has(o.event.type)) return [];
    const validator = ids[o.validator];
    return validator ? [{ kind: 'event', at: o.at, validator, event: o.event }] : [];
  }
  const m = o.message;
  if (!drawnMessages.has(m.type)) return [];
  const from = ids[m.from];
  const to = ids[m.to];
  if (!from || !to) return [];
  const base = {
    kind: 'message' as const,
    from,
    to,
    type: m.type,
    ...(m.height !== null ? { height: m.height } : {}),
    ...(m.view !== null ? { view: m.view } : {}),
  };
  if (m.seq === null) {
    // Lost as it was sent: one arrow, drawn lost at once.
    if (m.kind !== 'send') return [];
    const id = lostIds--;
    return [
      { ...base, at: m.at, stage: 'send', id },
      { ...base, at: m.at, stage: 'lost', id },
    ];
  }
  const stage =
    m.kind === 'send'
      ? 'send'
      : m.kind === 'deliver'
        ? 'deliver'
        : m.kind === 'lost'
          ? 'lost'
          : 'dropped';
  return [{ ...base, at: m.at, stage, id: m.seq }];
}

function adopt(s: SoloSession): void {
  unsubscribe?.();
  session = s;
  cursor = s.virtualTime;
  ids = s.snapshot().validators.map((v) => v.id);
  buffer = [];
  reset = true;
  unsubscribe = s.subscribe((o) => {
    if (o.kind === 'reset') {
      reset = true;
      buffer = [];
      return;
    }
    buffer.push(...convert(o));
    if (buffer.length > 20_000) buffer.splice(0, 5_000);
  });
}

export interface SoloState {
  readonly snapshot: SoloSnapshot;
  readonly pending: readonly PendingItem[];
  readonly pendingTotal: number;
  /** The run as a share-link parameter (config, interventions, step). */
  readonly spec: string;
  /** True when the views must start over from `observations` (a new run, or a seek back). */
  readonly reset: boolean;
  readonly observations: readonly Observation[];
  readonly config: SoloConfig;
  /**
   * The ledger and last blocks of the validator in view (the first honest one); null when not
   * asked for (and the run was not reset).
   */
  readonly ledger: LedgerView | null;
  readonly cost: CostFigures;
}

const api = {
  /** Starts a lesson's network, paused at its beginning. */
  startLesson(id: string): { ok: true; steps: number } | { ok: false; reason: string } {
    const lesson = lessonById(id);
    if (!lesson) return { ok: false, reason: `no lesson '${id}'` };
    adopt(new SoloSession(lesson.config));
    return { ok: true, steps: lesson.steps.length };
  },
  /** Runs to the lesson's step `index` (the moment it talks about). */
  async lessonStep(id: string, index: number) {
    const step = lessonById(id)?.steps[index];
    if (!session || !step) return { ok: false as const, reason: 'no such step' };
    const r = await runLessonStep(session, step);
    cursor = session.virtualTime;
    return r;
  },
  /** A new run, from a `?solo=` value: a validator count, or an encoded run spec. */
  async open(param: string): Promise<{ ok: true } | { ok: false; reason: string }> {
    if (/^\d{1,3}$/.test(param)) {
      const n = Number(param);
      const config = { ...defaultSoloConfig, validators: Math.min(Math.max(n, 1), 100) };
      adopt(new SoloSession(config));
      return { ok: true };
    }
    const decoded = decodeRunSpec(param);
    if (!decoded.ok) return { ok: false, reason: decoded.reason };
    const built = await SoloSession.fromSpec(decoded.value);
    if (!built.ok) return { ok: false, reason: built.reason };
    adopt(built.value);
    return { ok: true };
  },
  /** The same network with flat PBFT and with multi-level trust (run this on a second worker). */
  async compare(
    config: SoloConfig,
    virtualMs: number,
  ): Promise<{ ok: true; value: Comparison } | { ok: false; reason: string }> {
    try {
      return { ok: true, value: await compareProtocols(config, virtualMs) };
    } catch (error) {
      return { ok: false, reason: (error as Error).message };
    }
  },
  /** The proof of a safety violation at `height` (two certified conflicting blocks), if any. */
  proof(height: number): SafetyProof | null {
    return session ? safetyProof(session.simulation, height) : null;
  },
  /** The run as a trace file's text. */
  exportTrace(): string | null {
    return session ? JSON.stringify(traceFileOf(session, new Date().toISOString()), null, 1) : null;
  },
  /** Opens a trace file's run at its step; `verified`: it reached the recorded trace hash. */
  async importTrace(
    text: string,
  ): Promise<{ ok: true; verified: boolean } | { ok: false; reason: string }> {
    const r = await importTrace(text);
    if (!r.ok) return r;
    adopt(r.value.session);
    return { ok: true, verified: r.value.verified };
  },
  async configure(config: SoloConfig): Promise<void> {
    adopt(new SoloSession(config));
  },
  async step(n = 1): Promise<void> {
    await session?.step(n);
  },
  async runFor(virtualMs: number): Promise<void> {
    if (!session) return;
    cursor = Math.max(cursor, session.virtualTime) + virtualMs;
    await session.runFor(cursor - session.virtualTime);
  },
  async seek(step: number): Promise<void> {
    await session?.seek(Math.max(0, step));
    cursor = session?.virtualTime ?? 0;
  },
  async deliverNext(id: number): Promise<void> {
    await session?.deliverNext(id);
  },
  async drop(id: number): Promise<void> {
    await session?.drop(id);
  },
  state(withLedger = true): SoloState | null {
    if (!session) return null;
    let observations: Observation[];
    if (reset) {
      observations = session.recent().flatMap(convert);
      buffer = [];
    } else {
      observations = buffer;
      buffer = [];
    }
    const wasReset = reset;
    reset = false;
    const pending = session.pending();
    return {
      snapshot: session.snapshot(),
      pending: pending.filter((p) => p.kind === 'deliver').slice(0, 40),
      pendingTotal: pending.length,
      spec: encodeRunSpec(session.spec()),
      reset: wasReset,
      observations,
      config: session.spec().config,
      ledger: withLedger || wasReset ? session.ledger() : null,
      cost: session.cost(),
    };
  },
};

export type SoloWorkerApi = typeof api;
Comlink.expose(api);
