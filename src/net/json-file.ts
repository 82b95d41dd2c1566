// The envelope of the playground's JSON files (chain files, solo trace files): a JSON object with
// a `format` name and a `version`, read defensively (a file is untrusted input).

import type { DecodeResult } from '../crypto/encoding.ts';

/**
 * Parses `text` as a JSON object of `format` at `version`; `what` names it in the reasons
 * ("a trace", "a chain file").
 */
export function readJsonFile(
  text: string,
  format: string,
  version: number,
  what: string,
): DecodeResult<Record<string, unknown>> {
  const fail = (reason: string) => ({ ok: false as const, reason });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('the file is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return fail(`the file is not ${what} (not an object)`);
  const v = value as Record<string, unknown>;
  if (v.format !== format) return fail(`the file is not a ${format} file`);
  if (v.version !== version)
    return fail(`unsupported ${what.replace(/^an? /, '')} version ${String(v.version)}`);
  return { ok: true, value: v };
}
