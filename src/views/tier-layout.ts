// Where each validator sits in the trust-tier rings: Core in the centre, then Candidates,
// Observers, and Quarantined outside. Pure geometry (tested without a DOM): a ring per tier, members
// spread evenly around it in a stable order, node size by trust.

import { scaleSqrt } from 'd3';
import type { Tier } from '../protocol/types.ts';
import type { ValidatorInfo } from './model.ts';

export const tierOrder: readonly Tier[] = ['core', 'candidate', 'observer', 'quarantined'];

export const tierLabel: Readonly<Record<Tier, string>> = {
  core: 'Core committee',
  candidate: 'Candidates',
  observer: 'Observers',
  quarantined: 'Quarantined',
};

export interface RingGeometry {
  readonly tier: Tier;
  readonly radius: number;
}

export interface NodePlacement {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly r: number;
  readonly tier: Tier;
  /** The name shown beside the node (with ★ for the primary and its behaviour if it has one). */
  readonly label: string;
  /** Where the name's baseline starts, relative to the node: outward from the centre if it fits. */
  readonly labelX: number;
  readonly labelY: number;
  readonly anchor: 'start' | 'middle' | 'end';
  /** False when no place was clear of other names and nodes: the name is then only on hover. */
  readonly labelVisible: boolean;
}

/**
 * Ring radii for a square of side `size` (Core innermost). Core takes 0.3 of the outer radius, or
 * more when it holds many members (about 40 px of ring per member, up to half the radius): its
 * names need the room. The other rings share what is left evenly.
 */
export function rings(size: number, coreMembers = 0): RingGeometry[] {
  const outer = size / 2 - 28;
  const core = Math.min(outer / 2, Math.max(0.3 * outer, (coreMembers * 40) / (2 * Math.PI)));
  return tierOrder.map((tier, i) => ({ tier, radius: core + ((outer - core) * i) / 3 }));
}

/** Width of one character of the 12px name font and the 13px ring-label font (estimates). */
const nameCharWidth = 6.8;
const ringLabelCharWidth = 7.4;
/** Height of the 12px name font above and below its baseline. */
const nameAscent = 10;
const nameDescent = 3;

/**
 * Where a ring's label sits: centred above the top of the ring, except Core's, which sits in the
 * empty middle of its ring (unless a lone member sits there).
 */
export function ringLabelAt(
  ring: RingGeometry,
  size: number,
  members: number,
): { x: number; y: number; inside: boolean } {
  const inside = ring.tier === 'core' && members !== 1;
  return { x: size / 2, y: inside ? size / 2 + 4 : size / 2 - ring.radius - 6, inside };
}

export function nodeLabel(v: ValidatorInfo): string {
  return `${v.name}${v.primary ? ' ★' : ''}${v.fault ? ` (${v.fault})` : ''}`;
}

interface Box {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

const overlaps = (a: Box, b: Box) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

const trustRange = [6, 16] as const;
const trustScale = scaleSqrt().domain([0, 1000]).range(trustRange).clamp(true);

/**
 * Members of each ring spread evenly around it in id order, leaving the top of the ring free for
 * its label. A crowded ring shrinks every node, in every ring alike (so that size still compares
 * trust), until neighbours do not overlap. Each name goes outward beside its node; where that
 * would cover another name, a node or a ring label, it tries anchored away from its neighbours,
 * then above or below the node, then further out or inside the ring, and else is shown only on
 * hover (the node's aria-label always has it).
 */
export function placeNodes(validators: readonly ValidatorInfo[], size: number): NodePlacement[] {
  const c = size / 2;
  const nodes: (Omit<NodePlacement, 'labelX' | 'labelY' | 'anchor' | 'labelVisible'> & {
    dx: number;
    dy: number;
  })[] = [];
  const taken: Box[] = [];
  const coreMembers = validators.filter((v) => v.tier === 'core').length;
  const layouts = rings(size, coreMembers).map((ring) => {
    const members = validators
      .filter((v) => (v.tier ?? 'observer') === ring.tier)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const label = ringLabelAt(ring, size, members.length);
    const labelWidth = tierLabel[ring.tier].length * ringLabelCharWidth;
    taken.push({
      x0: label.x - labelWidth / 2 - 4,
      y0: label.y - 11,
      x1: label.x + labelWidth / 2 + 4,
      y1: label.y + 4,
    });
    // A lone Core member sits in the middle; otherwise members are spread around their ring,
    // clear of the arc under the ring's label when the label is on the ring.
    const gap =
      members.length > 1 && !label.inside
        ? Math.min(Math.PI / 2, (labelWidth + 24) / ring.radius)
        : 0;
    // A few members of an outer ring sit side by side at its bottom, where their names have room
    // (spread around, they would sit at the far left and right, their names off the picture).
    const few = ring.tier !== 'core' && members.length < 4;
    const step = few ? 0.8 : (2 * Math.PI - gap) / Math.max(members.length, 1);
    const first = few ? Math.PI / 2 - (step * (members.length - 1)) / 2 : -Math.PI / 2 + gap / 2;
    return { ring, members, few, step, first, room: (step * ring.radius) / 2 };
  });
  // One size scale for every ring, so that more trust is never drawn smaller: the most crowded
  // ring (the one with the least room per member) shrinks every node alike.
  const largest = Math.min(
    trustRange[1],
    ...layouts.filter((l) => l.members.length > 1).map((l) => l.room * 0.55),
  );
  const radiusOf = (trust: number) => Math.max(4, trustScale(trust) * (largest / trustRange[1]));
  for (const { ring, members, few, step, first } of layouts)
    members.forEach((v, i) => {
      const alone = members.length === 1 && ring.tier === 'core';
      const angle = first + step * (few ? i : i + 0.5);
      const dx = alone ? 0 : Math.cos(angle);
      const dy = alone ? 1 : Math.sin(angle);
      nodes.push({
        id: v.id,
        x: c + (alone ? 0 : ring.radius * dx),
        y: c + (alone ? 0 : ring.radius * dy),
        r: radiusOf(v.trust),
        tier: ring.tier,
        label: nodeLabel(v),
        dx,
        dy,
      });
    });
  const nodeBoxes: Box[] = nodes.map((n) => ({
    x0: n.x - n.r,
    y0: n.y - n.r,
    x1: n.x + n.r,
    y1: n.y + n.r,
  }));

  type Anchor = 'start' | 'middle' | 'end';
  interface Option {
    readonly labelX: number;
    readonly labelY: number;
    readonly anchor: Anchor;
    readonly box: Box;
  }
  const options: Option[][] = nodes.map(({ dx, dy, ...n }, i) => {
    // The widest the name gets (a ★ comes and goes with the primary): its place does not jump.
    const w = (n.label.length + (n.label.includes('★') ? 0 : 2)) * nameCharWidth;
    const away = dx >= 0 ? 'start' : 'end';
    const toward = dx >= 0 ? 'end' : 'start';
    const out = (d: number) => [dx * d, dy * d + 4] as const;
    const above = [0, -(n.r + 8)] as const;
    const below = [0, n.r + 17] as const;
    const places: (readonly [number, number, Anchor])[] = [
      // Outward; names straight above or below a node sit a little further off its outline.
      Math.abs(dx) < 0.3
        ? [out(n.r + 9)[0], out(n.r + 9)[1] + Math.sign(dy) * 6, 'middle']
        : [...out(n.r + 9), away],
      [...out(n.r + 9), away],
      [...above, 'middle'],
      [...below, 'middle'],
      [...above, toward],
      [...below, toward],
      [...out(n.r + 23), away],
      [...out(-(n.r + 9)), toward],
      [...out(n.r + 37), away],
      [...out(-(n.r + 23)), toward],
    ];
    return places.flatMap(([labelX, labelY, anchor]) => {
      const x = n.x + labelX;
      const y = n.y + labelY;
      const x0 = anchor === 'start' ? x : anchor === 'end' ? x - w : x - w / 2;
      const box = { x0, y0: y - nameAscent, x1: x0 + w, y1: y + nameDescent };
      const clear =
        box.x0 >= 0 &&
        box.x1 <= size &&
        box.y0 >= 0 &&
        box.y1 <= size &&
        !taken.some((t) => overlaps(box, t)) &&
        !nodeBoxes.some((t, j) => j !== i && overlaps(box, t));
      return clear ? [{ labelX, labelY, anchor, box }] : [];
    });
  });
  // Every name gets its best place that is still free before any name takes a second-best one:
  // round k lets each name not yet placed try its first k + 1 places, in the ring's order.
  const chosen: (Option | null)[] = nodes.map(() => null);
  const names: Box[] = [];
  const rounds = Math.max(0, ...options.map((o) => o.length));
  for (let k = 0; k < rounds; k++)
    options.forEach((list, i) => {
      if (chosen[i]) return;
      const pick = list.slice(0, k + 1).find((o) => !names.some((t) => overlaps(o.box, t)));
      if (!pick) return;
      chosen[i] = pick;
      names.push(pick.box);
    });
  return nodes.map(({ dx, dy, ...n }, i) => {
    const pick = chosen[i];
    if (pick)
      return {
        ...n,
        labelX: pick.labelX,
        labelY: pick.labelY,
        anchor: pick.anchor,
        labelVisible: true,
      };
    return {
      ...n,
      labelX: dx * (n.r + 6),
      labelY: dy * (n.r + 6) + 4,
      anchor: dx >= 0 ? 'start' : 'end',
      labelVisible: false,
    };
  });
}

/** Okabe–Ito colours per injected behaviour (honest is blue); always shown with a text label too. */
export const faultColour: Readonly<Record<string, string>> = {
  honest: '#0072B2',
  crash: '#000000',
  silent: '#999999',
  equivocate: '#D55E00',
  'wrong-digest': '#CC79A7',
  'invalid-proposal': '#E69F00',
  forge: '#F0E442',
  'stale-view-change': '#56B4E9',
  delay: '#009E73',
  drop: '#8C564B',
  twins: '#7F3C8D',
  sleeper: '#E69F00',
};
