// A solo run as a trace file: the run (configuration, seed, faults, interventions, step) plus what
// it led to (trace hash, height, heads), so an imported file is replayed and checked to reach the
// very same state. The run itself is the share link's encoding; the rest is for people and checks.

import type { DecodeResult } from '../crypto/encoding.ts';
import { readJsonFile } from '../net/json-file.ts';
import { decodeRunSpec, encodeRunSpec, SoloSession, type SoloRunSpec } from './session.ts';

export const traceFormat = 'tierbft-solo-trace';
export const traceVersion = 1;
const maxTraceChars = 1_000_000;

export interface TraceFile {
  readonly format: typeof traceFormat;
  readonly version: typeof traceVersion;
  /** The run, encoded as in a share link (`?solo=`). */
  readonly run: string;
  /** Hash over every event and message of the run up to `step`: equal runs, equal hashes. */
  readonly traceHash: string;
  readonly step: number;
  readonly height: number;
  readonly validators: readonly {
    readonly name: string;
    readonly height: number;
    readonly headHash: string;
  }[];
  readonly exportedAt: string;
}

/** The trace file of `session` at its current step (`now`: when, as ISO text, for people). */
export function traceFileOf(session: SoloSession, now: string): TraceFile {
  const snap = session.snapshot();
  return {
    format: traceFormat,
    version: traceVersion,
    run: encodeRunSpec(session.spec()),
    traceHash: snap.traceHash,
    step: snap.step,
    height: snap.height,
    validators: snap.validators.map((v) => ({
      name: v.name,
      height: v.height,
      headHash: v.headHash,
    })),
    exportedAt: now,
  };
}

/** Reads a trace file's text; every way it can be wrong gives a reason. */
export function parseTraceFile(
  text: string,
): DecodeResult<{ spec: SoloRunSpec; traceHash: string; step: number }> {
  const fail = (reason: string) => ({ ok: false as const, reason });
  if (text.length > maxTraceChars) return fail('the file is too large to be a trace');
  const file = readJsonFile(text, traceFormat, traceVersion, 'a trace');
  if (!file.ok) return file;
  const v = file.value;
  if (typeof v.traceHash !== 'string' || !/^[0-9a-f]{64}$/.test(v.traceHash))
    return fail('the trace hash is missing or malformed');
  const spec = decodeRunSpec(v.run);
  if (!spec.ok) return fail(`the run does not decode: ${spec.reason}`);
  if (v.step !== spec.value.step) return fail('the step does not match the run');
  return { ok: true, value: { spec: spec.value, traceHash: v.traceHash, step: spec.value.step } };
}

/**
 * Replays a trace file's run; `verified` says whether it reached the recorded trace hash (a
 * different build of the playground may not).
 */
export async function importTrace(
  text: string,
): Promise<DecodeResult<{ session: SoloSession; verified: boolean }>> {
  const parsed = parseTraceFile(text);
  if (!parsed.ok) return parsed;
  const built = await SoloSession.fromSpec(parsed.value.spec);
  if (!built.ok) return { ok: false, reason: `the run cannot be replayed: ${built.reason}` };
  return {
    ok: true,
    value: { session: built.value, verified: built.value.traceHash() === parsed.value.traceHash },
  };
}
