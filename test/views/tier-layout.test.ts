// The trust-tier rings' geometry: every validator on the ring of its tier, the top of each ring
// left to its label, and the names placed where they cover no other name, node or ring label, for
// the room sizes a class uses (4 to 20 validators, a crowded Core among them).
import { describe, expect, it } from 'vitest';
import type { Tier } from '../../src/protocol/types.ts';
import type { ValidatorInfo } from '../../src/views/model.ts';
import { placeNodes, ringLabelAt, rings, tierLabel } from '../../src/views/tier-layout.ts';

const size = 560;
const names = ['Ana', 'Bo', 'Cleo', 'Dara', 'Femi', 'Ivo', 'Lena', 'Nia', 'Omar', 'Quin', 'Uma'];

function room(counts: Partial<Record<Tier, number>>, fault: string | null = null): ValidatorInfo[] {
  const out: ValidatorInfo[] = [];
  for (const [tier, count] of Object.entries(counts) as [Tier, number][])
    for (let i = 0; i < count; i++) {
      const id = (out.length * 2654435761).toString(16).padStart(8, '0').repeat(8).slice(0, 64);
      out.push({
        id,
        name: `${names[out.length % names.length]}·${id.slice(0, 4)}`,
        tier,
        trust: tier === 'quarantined' ? 0 : 400 + ((out.length * 97) % 600),
        fault: tier === 'quarantined' ? fault : null,
        primary: out.length === 0,
      });
    }
  return out;
}

/** The box a name covers, as the layout estimates it (12px font). */
function nameBox(p: ReturnType<typeof placeNodes>[number]) {
  const w = p.label.length * 6.8;
  const x = p.x + p.labelX;
  const y = p.y + p.labelY;
  const x0 = p.anchor === 'start' ? x : p.anchor === 'end' ? x - w : x - w / 2;
  return { x0, y0: y - 10, x1: x0 + w, y1: y + 3 };
}

const overlap = (a: ReturnType<typeof nameBox>, b: ReturnType<typeof nameBox>) =>
  a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

describe('tier rings layout', () => {
  // [what, tiers, names that may be left to hover]: a crowded Core beside Candidates can leave one.
  const rooms: [string, Partial<Record<Tier, number>>, number][] = [
    ['a room of four', { core: 4 }, 0],
    ['seven with two quarantined', { core: 5, quarantined: 2 }, 0],
    ['eight tabs and bots', { core: 4, candidate: 1, observer: 2, quarantined: 1 }, 0],
    ['sixteen in Core', { core: 16 }, 0],
    ['a class of twenty in every tier', { core: 7, candidate: 5, observer: 6, quarantined: 2 }, 0],
    ['sixteen in Core and four Candidates', { core: 16, candidate: 4 }, 1],
  ];
  for (const [what, counts, hidden] of rooms)
    it(`${what}: each on its tier's ring, ${hidden ? `all names but ${hidden}` : 'every name'} shown, no name over another name, a node or a ring label`, () => {
      const validators = room(counts, 'equivocate');
      const placed = placeNodes(validators, size);
      expect(placed).toHaveLength(validators.length);
      const radius = new Map(rings(size, counts.core).map((r) => [r.tier, r.radius]));
      for (const p of placed) {
        const d = Math.hypot(p.x - size / 2, p.y - size / 2);
        const alone = p.tier === 'core' && counts.core === 1;
        expect(d).toBeCloseTo(alone ? 0 : radius.get(p.tier)!, 5);
      }
      expect(placed.filter((p) => !p.labelVisible).length).toBeLessThanOrEqual(hidden);
      const shown = placed.filter((p) => p.labelVisible);
      const names = shown.map(nameBox);
      const ringLabels = rings(size, counts.core).map((r) => {
        const at = ringLabelAt(r, size, counts[r.tier] ?? 0);
        const w = tierLabel[r.tier].length * 7.4;
        return { x0: at.x - w / 2, y0: at.y - 11, x1: at.x + w / 2, y1: at.y + 4 };
      });
      for (const [i, a] of names.entries()) {
        expect(a.x0 >= 0 && a.x1 <= size && a.y0 >= 0 && a.y1 <= size).toBe(true);
        for (const b of names.slice(i + 1)) expect(overlap(a, b)).toBe(false);
        for (const r of ringLabels) expect(overlap(a, r)).toBe(false);
        for (const n of placed)
          if (n.id !== shown[i]!.id)
            expect(overlap(a, { x0: n.x - n.r, y0: n.y - n.r, x1: n.x + n.r, y1: n.y + n.r })).toBe(
              false,
            );
      }
    });

  it('draws more trust never smaller, whichever ring a validator is in, and no node over another', () => {
    for (const [, counts] of rooms) {
      const validators = room(counts);
      // A crowded Core with Candidates that trust less: before, Core shrank alone.
      for (const v of validators) if (v.tier === 'core') (v as { trust: number }).trust = 999;
      const placed = placeNodes(validators, size);
      const trust = new Map(validators.map((v) => [v.id, v.trust]));
      for (const a of placed)
        for (const b of placed) {
          if (trust.get(a.id)! > trust.get(b.id)!) expect(a.r).toBeGreaterThanOrEqual(b.r);
          if (a.id < b.id) expect(Math.hypot(a.x - b.x, a.y - b.y)).toBeGreaterThan(a.r + b.r);
        }
    }
  });

  it('keeps the top of a ring clear for its label, and puts Core’s label in its middle', () => {
    const placed = placeNodes(room({ core: 6, observer: 12 }), size);
    const observers = placed.filter((p) => p.tier === 'observer');
    const r = rings(size, 6).find((g) => g.tier === 'observer')!;
    const label = ringLabelAt(r, size, 12);
    // No observer sits within the label's half-width of the top of the ring.
    const half = (tierLabel.observer.length * 7.4) / 2;
    for (const p of observers)
      expect(p.y > label.y + 20 || Math.abs(p.x - label.x) > half).toBe(true);
    expect(ringLabelAt(rings(size)[0]!, size, 6)).toMatchObject({ x: size / 2, inside: true });
    expect(ringLabelAt(rings(size)[0]!, size, 1)).toMatchObject({ inside: false });
  });

  it('places the same room the same way every time (a stable order by id)', () => {
    const validators = room({ core: 9, candidate: 3 });
    expect(placeNodes([...validators].reverse(), size)).toEqual(placeNodes(validators, size));
  });
});
