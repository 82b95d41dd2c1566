/**
 * Shared shapes for the benchmark suite (`npm run bench`), and how a section prints.
 *
 * Every section returns a {@link Section}: a record of named figures, each carrying its own unit so
 * the JSON in bench/results/latest.json is readable without this file, plus free-text notes (what
 * was measured, what bounds it).
 */

/** One measured number. `goal`/`met` are set only where issue #5 states a goal. */
export interface Figure {
  value: number;
  unit: string;
  goal?: string;
  met?: boolean;
  note?: string;
}

export type Section = { figures: Record<string, Figure>; notes: string[] };

/** Receives one human-readable progress line while a section runs. */
export type Progress = (line: string) => void;

/** `x` rounded to `digits` decimals. */
export function round(x: number, digits = 0): number {
  const scale = 10 ** digits;
  return Math.round(x * scale) / scale;
}

function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  return value.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

/** The section as a plain-text table (figure, value, unit, goal) followed by its notes. */
export function formatSection(title: string, section: Section): string {
  const rows = Object.entries(section.figures).map(([name, f]) => [
    name,
    formatValue(f.value),
    f.unit,
    f.goal === undefined ? '' : `${f.goal} ${f.met === true ? 'met' : 'NOT met'}`,
  ]);
  const header = ['figure', 'value', 'unit', 'goal'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [
    `== ${title}`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ];
  for (const [name, f] of Object.entries(section.figures))
    if (f.note !== undefined) out.push(`  ${name}: ${f.note}`);
  for (const note of section.notes) out.push(`  ${note}`);
  return out.join('\n');
}
