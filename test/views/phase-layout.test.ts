// Geometry of the vote-phase diagram: lanes, a block per height with its own time axis (idle
// stretches shortened into breaks), arrows, markers and their labels, and moving between items.
import { describe, expect, it } from 'vitest';
import {
  blockScale,
  createLayoutCache,
  laneOrder,
  layoutMargins,
  layoutPhases,
  nearestItem,
  neighbour,
  phaseStyle,
  type PhaseLayout,
} from '../../src/views/phase-layout.ts';
import { explainArrow, explainQuorum, explainViewChange } from '../../src/views/explain.ts';
import { phases, ViewModel } from '../../src/views/model.ts';
import type { ValidatorInfo } from '../../src/views/model.ts';
import { al, bo, cy, di, modelOf, Script, smallRun } from './fixtures.ts';

const view = modelOf(smallRun().obs).view();
const size = { width: 1200, height: 320 };
const layout = layoutPhases(view, size);

function labelBoxes(l: PhaseLayout) {
  return [...l.markers, ...l.viewChanges]
    .filter((m) => m.labelVisible)
    .map((m) => ({
      x0: m.labelX,
      x1: m.labelX + m.label.length * 6.6,
      y0: m.labelY - 10,
      y1: m.labelY + 3,
    }));
}

function overlaps(boxes: ReturnType<typeof labelBoxes>): number {
  let count = 0;
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i]!;
      const b = boxes[j]!;
      if (a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1) count++;
    }
  return count;
}

describe('phase layout: styles', () => {
  it('gives every phase its own Okabe–Ito colour, its own dash pattern and a text label', () => {
    const okabeIto = [
      '#E69F00',
      '#56B4E9',
      '#009E73',
      '#F0E442',
      '#0072B2',
      '#D55E00',
      '#CC79A7',
      '#000000',
    ];
    const styles = phases.map((p) => phaseStyle[p]);
    for (const s of styles) expect(okabeIto).toContain(s.colour);
    expect(new Set(styles.map((s) => s.colour)).size).toBe(phases.length);
    expect(new Set(styles.map((s) => s.dash)).size).toBe(phases.length);
    expect(styles.map((s) => s.label.split(' ')[0])).toEqual([
      'PRE-PREPARE',
      'PREPARE',
      'COMMIT',
      'VIEW-CHANGE',
      'NEW-VIEW',
    ]);
  });
});

describe('phase layout: lanes and blocks', () => {
  it('has a lane per member, in registry order, receivers included', () => {
    expect(layout.lanes.map((l) => l.name)).toEqual(['Al', 'Bo', 'Cy', 'Di']);
    const s = new Script();
    s.send(1, 'ee'.repeat(8), bo, 'prepare', 1); // not in the registry: comes last
    s.send(1, di, al, 'prepare', 1);
    const v = { ...modelOf(s.obs).view(), validators: view.validators };
    expect(laneOrder(v)).toEqual([al, bo, di, 'ee'.repeat(8)]);
  });

  it('spaces lanes evenly between the headers and the bottom', () => {
    const ys = layout.lanes.map((l) => l.y);
    const step = (size.height - layoutMargins.top - layoutMargins.bottom) / 4;
    expect(layout.laneStep).toBeCloseTo(step);
    expect(ys[0]).toBeCloseTo(layoutMargins.top + step / 2);
    for (let i = 1; i < ys.length; i++) expect(ys[i]! - ys[i - 1]!).toBeCloseTo(step);
  });

  it('puts a block per height side by side, inside the width, with q and f', () => {
    expect(layout.blocks.map((b) => b.height)).toEqual([1, 2]);
    const [b1, b2] = layout.blocks;
    expect(b1!.x0).toBe(layout.plotX);
    expect(b1!.x1).toBeLessThan(b2!.x0);
    expect(b2!.x1).toBeCloseTo(size.width);
    expect(b1!.title).toBe('Height 1 · committed');
    expect(b2!.title).toBe('Height 2 · committed (view 1)');
    expect(b1!.factsText).toBe('q=3 f=1 (n=4)');
    expect(b1!.summary).toBe('prepared 4 · committed 4');
    expect(b2!.summary).toBe('prepared 3 · committed 3');
  });

  it('shortens the silent primary’s wait into a marked break, and marks where view 1 began', () => {
    const b2 = layout.blocks[1]!;
    expect(b2.t0).toBe(130); // the commit of height 1
    expect(b2.breaks).toHaveLength(1);
    expect(b2.breaks[0]!.duration).toBe(2_070);
    expect(b2.viewLines).toHaveLength(1);
    expect(b2.viewLines[0]!.view).toBe(1);
    expect(b2.viewLines[0]!.x).toBeGreaterThan(b2.breaks[0]!.x);
    // The events after the break get most of the block, not a sliver.
    const first = layout.viewChanges[0]!;
    expect(b2.x1 - first.x).toBeGreaterThan(0.7 * (b2.x1 - b2.x0));
  });

  it('leaves a block without gaps linear in time', () => {
    const scale = blockScale([100, 110, 120, 130], 0, 300, 250);
    expect(scale(100)).toBe(0);
    expect(scale(115)).toBeCloseTo(150);
    expect(scale(130)).toBe(300);
    expect(scale.breaks).toEqual([]);
  });

  it('draws each long gap the break width and keeps time linear elsewhere', () => {
    const scale = blockScale([0, 10, 1_010, 1_020], 0, 100, 250, 20);
    expect(scale.breaks).toEqual([{ x: 50, width: 20, duration: 1_000 }]);
    expect(scale(0)).toBe(0);
    expect(scale(10)).toBeCloseTo(40);
    expect(scale(1_010)).toBeCloseTo(60);
    expect(scale(1_020)).toBe(100);
    expect(blockScale([5], 10, 90, 250)(5)).toBe(10); // a single moment
  });
});

describe('phase layout: arrows and markers', () => {
  it('draws a delivered message from its sender at the send to its receiver at the arrival', () => {
    const a = layout.arrows.find((x) => x.arrow.phase === 'pre-prepare' && x.arrow.to === cy)!;
    const laneY = new Map(layout.lanes.map((l) => [l.id, l.y]));
    expect(a.status).toBe('delivered');
    expect(a.y1).toBe(laneY.get(al));
    expect(a.y2).toBe(laneY.get(cy));
    expect(a.x2).toBeGreaterThan(a.x1);
    const b1 = layout.blocks[0]!;
    expect(a.x1).toBeGreaterThanOrEqual(b1.x0);
    expect(a.x2).toBeLessThanOrEqual(b1.x1);
  });

  it('draws a lost message half-way, and one in flight part of the way', () => {
    const lost = layout.arrows.find((x) => x.status === 'lost')!;
    const laneY = new Map(layout.lanes.map((l) => [l.id, l.y]));
    expect(lost.arrow.to).toBe(di);
    expect(lost.y2).toBeCloseTo((laneY.get(bo)! + laneY.get(di)!) / 2);
    expect(lost.x2).toBeGreaterThan(lost.x1);

    const s = new Script();
    s.broadcast(0, al, 'pre-prepare', 1, 0, 20);
    s.send(25, bo, cy, 'prepare', 1);
    const v = { ...modelOf(s.obs).view(), now: 30 };
    const l = layoutPhases(v, size);
    const flying = l.arrows.find((x) => x.status === 'in-flight')!;
    expect(flying.arrow.from).toBe(bo);
    const [yb, yc] = [l.lanes[1]!.y, l.lanes[2]!.y];
    expect(flying.y2).toBeGreaterThan(yb);
    expect(flying.y2).toBeLessThan(yc);
  });

  it('puts quorum and view-change markers on their member’s lane at their time', () => {
    const laneY = new Map(layout.lanes.map((l) => [l.id, l.y]));
    expect(layout.markers).toHaveLength(8 + 6);
    for (const m of layout.markers) expect(m.y).toBe(laneY.get(m.mark.validator));
    const prepared = layout.markers.find(
      (m) => m.mark.validator === bo && m.mark.phase === 'prepared' && m.mark.height === 1,
    )!;
    const commitOfBo = layout.arrows.find(
      (a) => a.arrow.phase === 'commit' && a.arrow.from === bo && a.arrow.height === 1,
    )!;
    expect(prepared.x).toBeCloseTo(commitOfBo.x1); // Bo sent COMMIT when it was prepared
    expect(prepared.label).toBe('prepared 3/3');
    expect(layout.viewChanges.map((v) => v.label)).toEqual([
      'timeout → view 1',
      'timeout → view 1',
      'joins view 1 (f+1)',
    ]);
  });

  it('shows labels only where they do not overlap and stay inside their block', () => {
    expect(layout.markers.filter((m) => m.labelVisible).length).toBeGreaterThan(0);
    expect(overlaps(labelBoxes(layout))).toBe(0);
    for (const m of [...layout.markers, ...layout.viewChanges].filter((x) => x.labelVisible)) {
      const block = layout.blocks.find((b) => b.height === m.mark.height)!;
      expect(m.labelX).toBeGreaterThanOrEqual(block.x0);
      expect(m.labelX + m.label.length * 6.6).toBeLessThanOrEqual(block.x1);
    }
  });

  it('draws only one member’s messages, or only some phases, when asked', () => {
    const focused = layoutPhases(view, { ...size, focus: cy });
    expect(focused.arrows.length).toBeGreaterThan(0);
    expect(focused.arrows.every((a) => a.arrow.from === cy || a.arrow.to === cy)).toBe(true);
    expect(focused.markers).toHaveLength(layout.markers.length);
    const some = layoutPhases(view, { ...size, hidden: new Set(['prepare', 'commit'] as const) });
    expect(new Set(some.arrows.map((a) => a.arrow.phase))).toEqual(
      new Set(['pre-prepare', 'view-change', 'new-view']),
    );
  });

  it('is empty but valid with nothing to show', () => {
    const empty = layoutPhases({ ...view, heights: [] }, size);
    expect(empty.blocks).toEqual([]);
    expect(empty.lanes).toEqual([]);
    expect(empty.items).toEqual([]);
    expect(neighbour(empty, null, 'next')).toBeNull();
  });
});

describe('phase layout: keyboard and pointer', () => {
  const keys = layout.items.map((i) => i.key);

  it('orders items block by block, in time', () => {
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBe(
      layout.arrows.length + layout.markers.length + layout.viewChanges.length,
    );
    const heightOf = (k: string) => Number(k.slice(1, k.indexOf(':')));
    for (let i = 1; i < keys.length; i++)
      expect(heightOf(keys[i]!)).toBeGreaterThanOrEqual(heightOf(keys[i - 1]!));
  });

  it('moves next, previous, first, last and between lanes', () => {
    expect(neighbour(layout, keys[0]!, 'next')).toBe(keys[1]);
    expect(neighbour(layout, keys[1]!, 'previous')).toBe(keys[0]);
    expect(neighbour(layout, keys[0]!, 'previous')).toBe(keys[0]);
    expect(neighbour(layout, null, 'first')).toBe(keys[0]);
    expect(neighbour(layout, keys[0]!, 'last')).toBe(keys[keys.length - 1]);
    expect(neighbour(layout, 'gone', 'next')).toBe(keys[0]);
    // From Bo's prepared marker at height 1, down lands on Cy's lane near the same time.
    const bosMark = layout.markers.find(
      (m) => m.mark.validator === bo && m.mark.phase === 'prepared',
    )!;
    const down = layout.items.find((i) => i.key === neighbour(layout, bosMark.key, 'down'))!;
    const cyY = layout.lanes[2]!.y;
    expect(down.kind === 'arrow' ? down.item.y1 : down.item.y).toBe(cyY);
    const alsMark = layout.markers.find((m) => m.mark.validator === al)!;
    expect(neighbour(layout, alsMark.key, 'up')).toBeNull();
  });

  it('finds the item nearest a click, within a radius', () => {
    const m = layout.markers[0]!;
    expect(nearestItem(layout, m.x + 2, m.y + 1)).toBe(m.key);
    const a = layout.arrows.find((x) => x.arrow.phase === 'pre-prepare')!;
    const midX = (a.x1 + a.x2) / 2;
    const midY = (a.y1 + a.y2) / 2;
    expect(nearestItem(layout, midX, midY + 1)).toBe(a.key);
    expect(nearestItem(layout, 5, 5)).toBeNull();
  });
});

describe('phase layout: reuse between updates', () => {
  it('gives the same layout with or without a cache', () => {
    const cache = createLayoutCache();
    expect(layoutPhases(view, size, cache)).toEqual(layout);
    expect(layoutPhases(view, size, cache)).toEqual(layout);
  });

  it('carries each item’s explanation for its aria-label', () => {
    const a = layout.arrows[0]!;
    expect(a.explanation).toBe(explainArrow(a.arrow, view));
    expect(layout.markers[0]!.explanation).toBe(explainQuorum(layout.markers[0]!.mark, view));
    expect(layout.viewChanges[0]!.explanation).toBe(
      explainViewChange(layout.viewChanges[0]!.mark, view),
    );
  });

  it('keeps decided heights as the same objects and redraws the height being decided', () => {
    const s = smallRun();
    const model = modelOf(s.obs);
    const cache = createLayoutCache();
    const before = layoutPhases(model.view(), size, cache);
    // Height 3 begins: a PRE-PREPARE in flight.
    model.observe({
      kind: 'message',
      at: 2_300,
      stage: 'send',
      id: 999,
      from: cy,
      to: di,
      type: 'pre-prepare',
      height: 3,
      view: 0,
    });
    const after = layoutPhases(model.view(), size, cache);
    expect(after.blocks.map((b) => b.height)).toEqual([1, 2, 3]);
    // Blocks moved left to make room, so they are laid out again; the next message reuses them.
    model.observe({
      kind: 'message',
      at: 2_310,
      stage: 'deliver',
      id: 999,
      from: cy,
      to: di,
      type: 'pre-prepare',
      height: 3,
      view: 0,
    });
    const next = layoutPhases(model.view(), size, cache);
    expect(next.blocks[0]).toBe(after.blocks[0]);
    expect(next.arrows.find((a) => a.arrow.height === 1)).toBe(
      after.arrows.find((a) => a.arrow.height === 1),
    );
    expect(next.blocks[2]).not.toBe(after.blocks[2]);
    expect(next.arrows.find((a) => a.arrow.id === 999)!.status).toBe('delivered');
    expect(before.blocks).toHaveLength(2);
    // Other options are other drawings.
    expect(layoutPhases(model.view(), { ...size, focus: bo }, cache).blocks[0]).not.toBe(
      next.blocks[0],
    );
  });
});

describe('phase layout: 16 validators', () => {
  const ids = Array.from({ length: 16 }, (_, i) => i.toString(16).padStart(2, '0').repeat(8));
  function bigModel(): ViewModel {
    const infos: ValidatorInfo[] = ids.map((id, i) => ({
      id,
      name: `V${String(i).padStart(2, '0')}`,
      tier: 'core',
      trust: 800,
      fault: null,
      primary: i === 0,
    }));
    const s = new Script().add({ kind: 'validators', at: 0, validators: infos });
    let t = 0;
    for (let h = 1; h <= 4; h++) {
      const primary = ids[h % 16]!;
      const all = (at: number, from: string, type: 'pre-prepare' | 'prepare' | 'commit') => {
        for (const to of ids)
          if (to !== from) {
            const id = s.send(at, from, to, type, h);
            s.end(at + 5 + ((id * 7) % 30), id, 'deliver', from, to, type, h);
          }
      };
      all(t, primary, 'pre-prepare');
      ids.forEach((id, i) => id !== primary && all(t + 40 + i, id, 'prepare'));
      ids.forEach((id, i) =>
        s.event(t + 80 + i, id, {
          type: 'quorum',
          phase: 'prepared',
          height: h,
          view: 0,
          digest: 'd',
          count: 11,
          q: 11,
          n: 16,
        }),
      );
      ids.forEach((id, i) => all(t + 80 + i, id, 'commit'));
      ids.forEach((id, i) =>
        s.event(t + 130 + i, id, {
          type: 'quorum',
          phase: 'committed',
          height: h,
          view: 0,
          digest: 'd',
          count: 11,
          q: 11,
          n: 16,
        }),
      );
      ids.forEach((id, i) => s.commit(t + 130 + i, id, h, 'd'));
      t += 1_000;
    }
    return modelOf(s.obs);
  }

  it('lays out a full committee at 1280 px with q and f, labels not overlapping', () => {
    const big = bigModel().view();
    const l = layoutPhases(big, { width: 1280, height: 560 });
    expect(l.lanes).toHaveLength(16);
    expect(l.blocks).toHaveLength(4);
    expect(l.arrows).toHaveLength(4 * (15 + 15 * 15 + 16 * 15));
    expect(l.blocks[0]!.factsText).toBe('q=11 f=5 (n=16)');
    expect(l.laneStep).toBeGreaterThanOrEqual(28);
    expect(l.markers.some((m) => m.labelVisible)).toBe(true);
    expect(overlaps(labelBoxes(l))).toBe(0);
  });

  it('redraws only the height being decided as messages arrive', () => {
    const model = bigModel();
    const cache = createLayoutCache();
    const options = { width: 1280, height: 560 };
    layoutPhases(model.view(), options, cache);
    // Height 5 begins (the diagram shifts once), then its messages arrive one by one.
    let id = 100_000;
    model.observe({
      kind: 'message',
      at: 4_000,
      stage: 'send',
      id: id++,
      from: ids[5]!,
      to: ids[6]!,
      type: 'pre-prepare',
      height: 5,
      view: 0,
    });
    const first = layoutPhases(model.view(), options, cache);
    let slowest = 0;
    for (let i = 0; i < 30; i++) {
      model.observe({
        kind: 'message',
        at: 4_001 + i,
        stage: 'send',
        id: id++,
        from: ids[5]!,
        to: ids[i % 16]!,
        type: 'pre-prepare',
        height: 5,
        view: 0,
      });
      const started = performance.now();
      const l = layoutPhases(model.view(), options, cache);
      slowest = Math.max(slowest, performance.now() - started);
      expect(l.blocks[0]).toBe(first.blocks[0]);
      expect(l.arrows[0]).toBe(first.arrows[0]);
    }
    // Generous for a shared CI machine; it takes about a millisecond.
    expect(slowest).toBeLessThan(50);
  });
});
