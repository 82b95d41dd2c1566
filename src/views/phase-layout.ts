// Geometry of the vote-phase diagram (a time-space diagram of the last few heights): one lane per
// committee member, a block per height side by side with its own time axis, an arrow per message
// copy, a marker where a member reached a quorum or changed view. Pure (no DOM), so the component
// stays thin and the geometry is tested. Long idle stretches (a silent primary's timeout) are
// shortened on the time axis and marked as breaks, so the quick phases stay readable.

import { scaleLinear } from 'd3';
import {
  committeeFacts,
  explainArrow,
  explainQuorum,
  explainViewChange,
  factsLabel,
  heightStart,
  nameOf,
  quorumLabel,
  viewChangeLabel,
  type CommitteeFacts,
} from './explain.ts';
import type {
  HeightView,
  MessageArrow,
  NetworkView,
  Phase,
  QuorumMark,
  ViewChangeMark,
} from './model.ts';

/**
 * Okabe–Ito colours per phase (the same as the tier rings use), each with its own dash pattern so
 * that colour is never the only cue.
 */
export const phaseStyle: Readonly<
  Record<Phase, { readonly colour: string; readonly dash: string; readonly label: string }>
> = {
  'pre-prepare': { colour: '#0072B2', dash: '', label: 'PRE-PREPARE (solid)' },
  prepare: { colour: '#009E73', dash: '7 4', label: 'PREPARE (dashed)' },
  commit: { colour: '#D55E00', dash: '2 3', label: 'COMMIT (dotted)' },
  'view-change': { colour: '#CC79A7', dash: '10 3 2 3', label: 'VIEW-CHANGE (dash-dot)' },
  'new-view': { colour: '#E69F00', dash: '14 5', label: 'NEW-VIEW (long dash)' },
};

export interface PhaseLayoutOptions {
  readonly width: number;
  readonly height: number;
  /** Idle stretches longer than this (ms, default 250) are drawn narrow and marked as breaks. */
  readonly gapCap?: number;
  /** Draw only the messages from or to this member (markers stay). */
  readonly focus?: string | null;
  /** Phases whose arrows are not drawn. */
  readonly hidden?: ReadonlySet<Phase>;
}

export const layoutMargins = { top: 62, bottom: 22, gutter: 12, blockGap: 14, blockPad: 12 };
/** Approximate width of a character of the 12px label font, for placing labels without a DOM. */
export const charWidth = 6.6;

export interface LaneGeometry {
  readonly id: string;
  readonly name: string;
  readonly y: number;
}

export interface TimeBreak {
  /** Where the break is drawn (its middle), and how wide. */
  readonly x: number;
  readonly width: number;
  /** How long the idle stretch really was. */
  readonly duration: number;
}

export interface ViewLine {
  readonly view: number;
  readonly x: number;
}

export interface BlockGeometry {
  readonly height: number;
  readonly x0: number;
  readonly x1: number;
  readonly t0: number;
  readonly t1: number;
  readonly facts: CommitteeFacts;
  /** "Height 12 · committed" or "Height 12 · deciding (view 1)". */
  readonly title: string;
  /** "q=3 f=1 (n=4)". */
  readonly factsText: string;
  /** "prepared 4 · committed 4" (members that reached each quorum). */
  readonly summary: string;
  readonly breaks: readonly TimeBreak[];
  /** Where each later view began (its first NEW-VIEW). */
  readonly viewLines: readonly ViewLine[];
}

export type ArrowStatus = 'delivered' | 'lost' | 'in-flight';

export interface ArrowGeometry {
  readonly key: string;
  readonly arrow: MessageArrow;
  readonly status: ArrowStatus;
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
  /** Why it was sent, in words (its aria-label). */
  readonly explanation: string;
}

interface PlacedLabel {
  readonly label: string;
  /** Where the label starts (its text anchor is the start). */
  readonly labelX: number;
  readonly labelY: number;
  /** False when it would overlap another label or leave its block (the text stays in aria-label). */
  readonly labelVisible: boolean;
}

export interface MarkerGeometry extends PlacedLabel {
  readonly key: string;
  /** What it means, in words (its aria-label). */
  readonly explanation: string;
  readonly mark: QuorumMark;
  readonly x: number;
  readonly y: number;
}

export interface ViewChangeGeometry extends PlacedLabel {
  readonly key: string;
  /** Why, in words (its aria-label). */
  readonly explanation: string;
  readonly mark: ViewChangeMark;
  readonly x: number;
  readonly y: number;
}

export type LayoutItem =
  | { readonly kind: 'arrow'; readonly key: string; readonly item: ArrowGeometry }
  | { readonly kind: 'quorum'; readonly key: string; readonly item: MarkerGeometry }
  | { readonly kind: 'view-change'; readonly key: string; readonly item: ViewChangeGeometry };

export interface PhaseLayout {
  readonly width: number;
  readonly height: number;
  readonly laneStep: number;
  readonly lanes: readonly LaneGeometry[];
  /** Left edge of the first block (names sit left of it). */
  readonly plotX: number;
  readonly blocks: readonly BlockGeometry[];
  readonly arrows: readonly ArrowGeometry[];
  readonly markers: readonly MarkerGeometry[];
  readonly viewChanges: readonly ViewChangeGeometry[];
  /** Every selectable item, block by block in time order (the keyboard order). */
  readonly items: readonly LayoutItem[];
}

export const arrowKey = (a: MessageArrow): string => `a${a.height}:${a.id}`;
export const quorumKey = (height: number, index: number): string => `q${height}:${index}`;
export const viewChangeKey = (height: number, index: number): string => `v${height}:${index}`;

/**
 * Lanes: every member seen at the shown heights (senders, receivers, reporters), in registry order
 * so that lanes do not jump between updates; members not in the registry follow, first seen first.
 */
export function laneOrder(view: NetworkView): string[] {
  const seen = new Set<string>();
  for (const h of view.heights) {
    for (const id of h.lanes) seen.add(id);
    for (const a of h.arrows) {
      seen.add(a.from);
      seen.add(a.to);
    }
    for (const m of h.quorums) seen.add(m.validator);
    for (const m of h.viewChanges) seen.add(m.validator);
  }
  const registry = view.validators.map((v) => v.id).filter((id) => seen.has(id));
  const known = new Set(registry);
  return [...registry, ...[...seen].filter((id) => !known.has(id))];
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Every moment drawn in a height's block. */
function timesOf(view: NetworkView, h: HeightView, newest: boolean): number[] {
  const now = view.now;
  const times = [heightStart(view, h)];
  for (const a of h.arrows) {
    times.push(a.sentAt);
    if (a.deliveredAt !== null) times.push(a.deliveredAt);
  }
  for (const m of h.quorums) times.push(m.at);
  for (const m of h.viewChanges) times.push(m.at);
  if (h.committedAt !== null) times.push(h.committedAt);
  // The height still being decided runs up to now (a silent primary shows as time passing).
  if (newest && h.committedAt === null) times.push(now);
  return times;
}

export interface BlockScale {
  (t: number): number;
  readonly t0: number;
  readonly t1: number;
  readonly breaks: readonly TimeBreak[];
}

/**
 * Time → x within [x0, x1] for the given moments: linear, except that each idle stretch longer
 * than `gapCap` (nothing drawn in it) is drawn `breakWidth` pixels wide and reported as a break.
 */
export function blockScale(
  times: readonly number[],
  x0: number,
  x1: number,
  gapCap: number,
  breakWidth = 36,
): BlockScale {
  const sorted = [...new Set(times)].sort((a, b) => a - b);
  const t0 = sorted[0] ?? 0;
  const t1 = Math.max(sorted[sorted.length - 1] ?? 0, t0);
  // A single moment: everything at the start of the block.
  if (t1 <= t0) return Object.assign(() => x0, { t0, t1, breaks: [] });
  // Pieces between domain points: linear stretches (merged) and breaks.
  const domain = [t0];
  const isBreak: boolean[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    const long = b - a > gapCap;
    if (!long && isBreak.length > 0 && !isBreak[isBreak.length - 1]) domain[domain.length - 1] = b;
    else {
      domain.push(b);
      isBreak.push(long);
    }
  }
  const breaks = isBreak.filter(Boolean).length;
  const linearTime = isBreak.reduce(
    (sum, br, i) => (br ? sum : sum + domain[i + 1]! - domain[i]!),
    0,
  );
  const span = x1 - x0;
  const shownBreak =
    breaks === 0
      ? 0
      : linearTime === 0
        ? span / breaks
        : Math.min(breakWidth, (span * 0.4) / breaks);
  const perMs = linearTime === 0 ? 0 : (span - breaks * shownBreak) / linearTime;
  const range = [x0];
  const found: TimeBreak[] = [];
  isBreak.forEach((br, i) => {
    const x = range[i]!;
    const width = br ? shownBreak : (domain[i + 1]! - domain[i]!) * perMs;
    if (br) found.push({ x: x + width / 2, width, duration: domain[i + 1]! - domain[i]! });
    range.push(x + width);
  });
  const scale = scaleLinear().domain(domain).range(range).clamp(true);
  return Object.assign((t: number) => scale(t), { t0, t1, breaks: found });
}

interface Box {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/** Height of the 12px label font above and below its baseline. */
const labelAscent = 10;
const labelDescent = 3;

/**
 * A marker's label: above its lane to the right of it if there is room in its block, else above
 * to the left, else below (right, then left), else hidden (its text stays in the marker's
 * aria-label and in the block's summary).
 */
function place(
  label: string,
  x: number,
  y: number,
  block: { x0: number; x1: number; top: number; bottom: number },
  taken: Box[],
  laneStep: number,
): PlacedLabel {
  const w = label.length * charWidth;
  if (laneStep >= 18) {
    for (const [labelX, labelY] of [
      [x + 8, y - 6],
      [x - 8 - w, y - 6],
      [x + 8, y + 16],
      [x - 8 - w, y + 16],
    ] as const) {
      const box = {
        x0: labelX - 2,
        y0: labelY - labelAscent,
        x1: labelX + w + 2,
        y1: labelY + labelDescent,
      };
      const fits =
        box.x0 >= block.x0 && box.x1 <= block.x1 && box.y0 >= block.top && box.y1 <= block.bottom;
      if (
        !fits ||
        taken.some((t) => box.x0 < t.x1 && t.x0 < box.x1 && box.y0 < t.y1 && t.y0 < box.y1)
      )
        continue;
      taken.push(box);
      return { label, labelX, labelY, labelVisible: true };
    }
  }
  return { label, labelX: x + 8, labelY: y - 6, labelVisible: false };
}

interface BlockResult {
  readonly block: BlockGeometry;
  readonly arrows: readonly ArrowGeometry[];
  readonly markers: readonly MarkerGeometry[];
  readonly viewChanges: readonly ViewChangeGeometry[];
  readonly items: readonly LayoutItem[];
}

/**
 * Blocks whose inputs did not change since the last layout, reused as they were (the same
 * objects), so that a keyed each redraws only the height being decided. Create one per diagram.
 */
export interface PhaseLayoutCache {
  readonly blocks: Map<number, { readonly signature: string; readonly result: BlockResult }>;
}

export function createLayoutCache(): PhaseLayoutCache {
  return { blocks: new Map() };
}

interface BlockContext {
  readonly view: NetworkView;
  readonly x0: number;
  readonly x1: number;
  readonly newest: boolean;
  readonly laneY: ReadonlyMap<string, number>;
  readonly laneStep: number;
  readonly height: number;
  readonly gapCap: number;
  readonly focus: string | null;
  readonly hidden: ReadonlySet<Phase>;
}

/** Everything a block's drawing depends on, cheaply (a height's arrays only grow). */
function signatureOf(h: HeightView, c: BlockContext, shared: string): string {
  let delivered = 0;
  let lost = 0;
  let flying = false;
  for (const a of h.arrows) {
    if (a.lost) lost++;
    else if (a.deliveredAt !== null) delivered++;
    else flying = true;
  }
  const moving = flying || (c.newest && h.committedAt === null);
  return [
    h.arrows.length,
    delivered,
    lost,
    h.quorums.length,
    h.viewChanges.length,
    h.committedAt,
    heightStart(c.view, h),
    moving ? c.view.now : '',
    c.x0,
    c.x1,
    c.height,
    c.laneStep,
    shared,
  ].join('|');
}

function layoutBlock(h: HeightView, c: BlockContext): BlockResult {
  const m = layoutMargins;
  const { view, x0, x1, laneY, laneStep } = c;
  const scale = blockScale(timesOf(view, h, c.newest), x0 + m.blockPad, x1 - m.blockPad, c.gapCap);
  const facts = committeeFacts(h);
  const views = new Set(h.arrows.map((a) => a.view));
  for (const vc of h.viewChanges) views.add(vc.toView);
  const maxView = Math.max(0, ...views);
  const viewLines: ViewLine[] = [];
  for (const v of [...views].sort((a, b) => a - b)) {
    if (v === 0) continue;
    const starts = h.arrows.filter((a) => a.view === v && a.phase === 'new-view');
    if (starts.length > 0)
      viewLines.push({ view: v, x: scale(Math.min(...starts.map((a) => a.sentAt))) });
  }
  const members = (phase: QuorumMark['phase']) =>
    new Set(h.quorums.filter((q) => q.phase === phase).map((q) => q.validator)).size;
  const block: BlockGeometry = {
    height: h.height,
    x0,
    x1,
    t0: scale.t0,
    t1: scale.t1,
    facts,
    title:
      `Height ${h.height} · ` +
      (h.committedAt !== null ? 'committed' : 'deciding') +
      (maxView > 0 ? ` (view ${maxView})` : ''),
    factsText: factsLabel(facts),
    summary: `prepared ${members('prepared')} · committed ${members('committed')}`,
    breaks: scale.breaks,
    viewLines,
  };

  const items: { item: LayoutItem; t: number; order: number }[] = [];
  // A lost or in-flight message is drawn part of the way, as far as a typical one gets.
  const latency =
    median(h.arrows.filter((a) => a.deliveredAt !== null).map((a) => a.deliveredAt! - a.sentAt)) ??
    Math.max(1, (scale.t1 - scale.t0) * 0.05);
  const shownLatency = Math.max(latency, 1);
  const minStub = 14;
  const arrows: ArrowGeometry[] = [];
  for (const a of h.arrows) {
    if (c.hidden.has(a.phase)) continue;
    if (c.focus && a.from !== c.focus && a.to !== c.focus) continue;
    const y1 = laneY.get(a.from);
    const y2 = laneY.get(a.to);
    if (y1 === undefined || y2 === undefined) continue;
    const xFrom = scale(a.sentAt);
    let status: ArrowStatus;
    let xTo: number;
    let yTo: number;
    if (a.deliveredAt !== null && !a.lost) {
      status = 'delivered';
      xTo = scale(a.deliveredAt);
      yTo = y2;
    } else {
      status = a.lost ? 'lost' : 'in-flight';
      const part = a.lost
        ? 0.5
        : Math.min(0.9, Math.max(0.15, (view.now - a.sentAt) / shownLatency));
      xTo = Math.max(scale(a.sentAt + shownLatency * part), xFrom + minStub * part);
      yTo = y1 + (y2 - y1) * part;
    }
    const g: ArrowGeometry = {
      key: arrowKey(a),
      arrow: a,
      status,
      x1: xFrom,
      y1,
      x2: xTo,
      y2: yTo,
      explanation: explainArrow(a, view),
    };
    arrows.push(g);
    items.push({ item: { kind: 'arrow', key: g.key, item: g }, t: a.sentAt, order: 1 });
  }

  // Markers and view changes in time order, each label placed where it overlaps no other.
  const taken: Box[] = [];
  const area = { x0, x1, top: m.top - 6, bottom: c.height - m.bottom + 4 };
  const marks = [
    ...h.quorums.map((mark, index) => ({ kind: 'quorum' as const, mark, index })),
    ...h.viewChanges.map((mark, index) => ({ kind: 'view-change' as const, mark, index })),
  ].sort((a, b) => a.mark.at - b.mark.at);
  const markers: MarkerGeometry[] = [];
  const viewChanges: ViewChangeGeometry[] = [];
  for (const entry of marks) {
    const y = laneY.get(entry.mark.validator);
    if (y === undefined) continue;
    const x = scale(entry.mark.at);
    if (entry.kind === 'quorum') {
      const g: MarkerGeometry = {
        key: quorumKey(h.height, entry.index),
        mark: entry.mark,
        x,
        y,
        ...place(quorumLabel(entry.mark), x, y, area, taken, laneStep),
        explanation: explainQuorum(entry.mark, view),
      };
      markers.push(g);
      items.push({ item: { kind: 'quorum', key: g.key, item: g }, t: entry.mark.at, order: 2 });
    } else {
      const g: ViewChangeGeometry = {
        key: viewChangeKey(h.height, entry.index),
        mark: entry.mark,
        x,
        y,
        ...place(viewChangeLabel(entry.mark), x, y, area, taken, laneStep),
        explanation: explainViewChange(entry.mark, view),
      };
      viewChanges.push(g);
      items.push({
        item: { kind: 'view-change', key: g.key, item: g },
        t: entry.mark.at,
        order: 0,
      });
    }
  }
  items.sort((a, b) => a.t - b.t || a.order - b.order);
  return { block, arrows, markers, viewChanges, items: items.map((i) => i.item) };
}

/**
 * The whole diagram for a view in a `width` × `height` box. With a cache, blocks whose inputs are
 * unchanged come back as the same objects as last time.
 */
export function layoutPhases(
  view: NetworkView,
  options: PhaseLayoutOptions,
  cache?: PhaseLayoutCache,
): PhaseLayout {
  const { width, height } = options;
  const m = layoutMargins;
  const ids = laneOrder(view);
  const longestName = Math.max(4, ...ids.map((id) => nameOf(view, id).length));
  const plotX = Math.min(
    Math.round(width * 0.2),
    Math.ceil(longestName * charWidth) + 2 * m.gutter,
  );
  const laneStep = ids.length === 0 ? 0 : (height - m.top - m.bottom) / ids.length;
  const lanes: LaneGeometry[] = ids.map((id, i) => ({
    id,
    name: nameOf(view, id),
    y: m.top + laneStep * (i + 0.5),
  }));
  const laneY = new Map(lanes.map((l) => [l.id, l.y]));

  const count = view.heights.length;
  const blockWidth = count === 0 ? 0 : (width - plotX - m.blockGap * (count - 1)) / count;
  const newestHeight = Math.max(-Infinity, ...view.heights.map((h) => h.height));
  const hidden = options.hidden ?? noPhases;
  const results: BlockResult[] = [];
  // What every block depends on alike: lanes, names, options.
  const shared = cache
    ? [
        ids.join(','),
        view.validators.map((v) => `${v.id}=${v.name}`).join(','),
        options.gapCap ?? 250,
        options.focus ?? '',
        [...hidden].sort().join(','),
      ].join('|')
    : '';
  view.heights.forEach((h, i) => {
    const x0 = plotX + i * (blockWidth + m.blockGap);
    const context: BlockContext = {
      view,
      x0,
      x1: x0 + blockWidth,
      newest: h.height === newestHeight,
      laneY,
      laneStep,
      height,
      gapCap: options.gapCap ?? 250,
      focus: options.focus ?? null,
      hidden,
    };
    if (!cache) return results.push(layoutBlock(h, context));
    const signature = signatureOf(h, context, shared);
    const kept = cache.blocks.get(h.height);
    if (kept && kept.signature === signature) return results.push(kept.result);
    const result = layoutBlock(h, context);
    cache.blocks.set(h.height, { signature, result });
    results.push(result);
  });
  if (cache) {
    const shown = new Set(view.heights.map((h) => h.height));
    for (const key of cache.blocks.keys()) if (!shown.has(key)) cache.blocks.delete(key);
  }
  return {
    width,
    height,
    laneStep,
    lanes,
    plotX,
    blocks: results.map((r) => r.block),
    arrows: results.flatMap((r) => r.arrows),
    markers: results.flatMap((r) => r.markers),
    viewChanges: results.flatMap((r) => r.viewChanges),
    items: results.flatMap((r) => r.items),
  };
}

const noPhases: ReadonlySet<Phase> = new Set();

/** Where an item is drawn (an arrow by its start), for moving between items with the keyboard. */
export function anchorOf(it: LayoutItem): { x: number; y: number } {
  return it.kind === 'arrow' ? { x: it.item.x1, y: it.item.y1 } : { x: it.item.x, y: it.item.y };
}

/**
 * The item a key press moves to from `key`: next/previous in time order, the nearest one on the
 * lane above or below, the first or the last. Null when there is nowhere to go.
 */
export function neighbour(
  layout: PhaseLayout,
  key: string | null,
  move: 'next' | 'previous' | 'up' | 'down' | 'first' | 'last',
): string | null {
  const items = layout.items;
  if (items.length === 0) return null;
  if (move === 'first') return items[0]!.key;
  if (move === 'last') return items[items.length - 1]!.key;
  const index = items.findIndex((i) => i.key === key);
  if (index < 0) return items[0]!.key;
  if (move === 'next') return items[Math.min(index + 1, items.length - 1)]!.key;
  if (move === 'previous') return items[Math.max(index - 1, 0)]!.key;
  const here = anchorOf(items[index]!);
  const laneIndex = layout.lanes.findIndex((l) => Math.abs(l.y - here.y) < 0.5);
  const target = layout.lanes[laneIndex + (move === 'up' ? -1 : 1)];
  if (laneIndex < 0 || !target) return null;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const it of items) {
    const at = anchorOf(it);
    if (Math.abs(at.y - target.y) >= 0.5) continue;
    const d = Math.abs(at.x - here.x);
    if (d < bestDistance) {
      bestDistance = d;
      best = it.key;
    }
  }
  return best;
}

function distanceToSegment(px: number, py: number, a: ArrowGeometry): number {
  const dx = a.x2 - a.x1;
  const dy = a.y2 - a.y1;
  const length2 = dx * dx + dy * dy;
  const t =
    length2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - a.x1) * dx + (py - a.y1) * dy) / length2));
  return Math.hypot(px - (a.x1 + t * dx), py - (a.y1 + t * dy));
}

/**
 * The item nearest to a point within `radius` (markers win ties over arrows), so that a click
 * near a thin line still selects it.
 */
export function nearestItem(layout: PhaseLayout, x: number, y: number, radius = 8): string | null {
  let best: string | null = null;
  let bestDistance = radius;
  for (const it of layout.items) {
    const d =
      it.kind === 'arrow'
        ? distanceToSegment(x, y, it.item)
        : Math.max(0, Math.hypot(x - it.item.x, y - it.item.y) - 3);
    if (d < bestDistance) {
      bestDistance = d;
      best = it.key;
    }
  }
  return best;
}
