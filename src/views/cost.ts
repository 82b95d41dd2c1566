// The cost meter: what the network (or one tab) spent per committed payment and per height, so
// that multi-level trust and flat PBFT can be compared by the numbers. Pure: the figures come from
// a tab's counters or a simulation's summary; this only divides and words them.

export interface CostFigures {
  readonly label: string;
  readonly payments: number;
  readonly heights: number;
  readonly messages: number;
  /** Null where bytes are not counted. */
  readonly bytes: number | null;
  readonly signatureChecks: number;
  /** Commit latency in ms (virtual ms in a simulation), null before any commit. */
  readonly latency: { readonly p50: number; readonly p99: number } | null;
  /** What the figures cover, e.g. "sent by this tab" or "every validator of the simulation". */
  readonly scope: string;
}

export interface CostRow {
  readonly label: string;
  readonly values: readonly string[];
}

const whole = (x: number) => Math.round(x).toLocaleString('en');
const per = (total: number, count: number) => (count > 0 ? whole(total / count) : '—');
const bytesText = (b: number) =>
  b >= 10_000_000
    ? `${whole(b / 1_000_000)} MB`
    : b >= 10_000
      ? `${whole(b / 1_000)} kB`
      : `${whole(b)} B`;

/** One row per measure, one value per column, in words ready to show. */
export function costRows(columns: readonly CostFigures[]): CostRow[] {
  const row = (label: string, value: (c: CostFigures) => string): CostRow => ({
    label,
    values: columns.map(value),
  });
  return [
    row('Payments committed', (c) => whole(c.payments)),
    row('Heights committed', (c) => whole(c.heights)),
    row('Messages per payment', (c) => per(c.messages, c.payments)),
    row('Bytes per payment', (c) =>
      c.bytes === null ? 'not counted' : c.payments > 0 ? bytesText(c.bytes / c.payments) : '—',
    ),
    row('Signature checks per payment', (c) => per(c.signatureChecks, c.payments)),
    row('Messages per height', (c) => per(c.messages, c.heights)),
    row('Commit latency p50 / p99', (c) =>
      c.latency ? `${whole(c.latency.p50)} / ${whole(c.latency.p99)} ms` : '—',
    ),
  ];
}
