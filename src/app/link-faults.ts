// Network faults a user puts on this tab's own links, for a lesson in a live room: every frame
// this tab sends is delayed, lost with some probability, or not sent at all to peers cut off. The
// tab's validator is not told: to it, the network is simply bad (which is what BFT must survive).

export interface LinkFaultSettings {
  /** Added to every outgoing frame, in ms (0–5000). */
  readonly delayMs: number;
  /** Share of outgoing frames lost, 0–1. */
  readonly loss: number;
  /** Peers (by peer id) this tab no longer sends to. */
  readonly cut: ReadonlySet<string>;
}

export const noLinkFaults: LinkFaultSettings = { delayMs: 0, loss: 0, cut: new Set() };

/** What happens to one outgoing frame: lost, or sent after `delayMs` (0: at once). */
export function fateOf(
  settings: LinkFaultSettings,
  peer: string,
  random: () => number,
): { readonly lost: true } | { readonly lost: false; readonly delayMs: number } {
  if (settings.cut.has(peer)) return { lost: true };
  if (settings.loss > 0 && random() < settings.loss) return { lost: true };
  return { lost: false, delayMs: Math.max(0, settings.delayMs) };
}

/** Settings from user input, clamped to what the controls allow. */
export function linkFaults(
  delayMs: number,
  loss: number,
  cut: Iterable<string>,
): LinkFaultSettings {
  const clamp = (v: number, lo: number, hi: number) =>
    Number.isFinite(v) ? Math.min(Math.max(v, lo), hi) : lo;
  return { delayMs: clamp(delayMs, 0, 5_000), loss: clamp(loss, 0, 1), cut: new Set(cut) };
}
