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
  /** Where the name goes: outward from the centre, clear of the node. */
  readonly labelX: number;
  readonly labelY: number;
  readonly anchor: 'start' | 'middle' | 'end';
}

/** Ring radii for a square of side `size` (Core innermost). */
export function rings(size: number): RingGeometry[] {
  const outer = size / 2 - 28;
  return tierOrder.map((tier, i) => ({ tier, radius: outer * (0.3 + (0.7 * i) / 3) }));
}

const trustScale = scaleSqrt().domain([0, 1000]).range([6, 16]).clamp(true);

export function placeNodes(validators: readonly ValidatorInfo[], size: number): NodePlacement[] {
  const c = size / 2;
  const out: NodePlacement[] = [];
  for (const ring of rings(size)) {
    const members = validators
      .filter((v) => (v.tier ?? 'observer') === ring.tier)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // A lone Core member sits in the middle; otherwise members are spread around their ring.
    // A crowded ring shrinks its nodes so neighbours do not overlap.
    const room = (Math.PI * ring.radius) / Math.max(members.length, 1);
    members.forEach((v, i) => {
      const alone = members.length === 1 && ring.tier === 'core';
      // Half a step off the top, where the ring's label sits.
      const step = (2 * Math.PI) / members.length;
      const angle = -Math.PI / 2 + step * (i + 0.5);
      const x = alone ? c : c + ring.radius * Math.cos(angle);
      const y = alone ? c : c + ring.radius * Math.sin(angle);
      const r = Math.max(4, Math.min(trustScale(v.trust), room * 0.8));
      const dx = alone ? 0 : Math.cos(angle);
      const dy = alone ? 1 : Math.sin(angle);
      out.push({
        id: v.id,
        x,
        y,
        r,
        tier: ring.tier,
        labelX: dx * (r + 6),
        labelY: dy * (r + 6) + 4,
        anchor: dx > 0.3 ? 'start' : dx < -0.3 ? 'end' : 'middle',
      });
    });
  }
  return out;
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
