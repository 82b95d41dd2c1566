import { describe, expect, it } from 'vitest';
import { fateOf, linkFaults, noLinkFaults } from '../../src/app/link-faults.ts';

describe('link faults', () => {
  it('sends everything at once when there are none', () => {
    expect(fateOf(noLinkFaults, 'p1', () => 0)).toEqual({ lost: false, delayMs: 0 });
  });
  it('never sends to a peer that is cut off, and delays the others', () => {
    const s = linkFaults(300, 0, ['p1']);
    expect(fateOf(s, 'p1', () => 0.99)).toEqual({ lost: true });
    expect(fateOf(s, 'p2', () => 0.99)).toEqual({ lost: false, delayMs: 300 });
  });
  it('loses the given share of frames', () => {
    const s = linkFaults(0, 0.25, []);
    let i = 0;
    const draws = Array.from({ length: 1000 }, () => (i++ % 100) / 100);
    const lost = draws.filter((r) => fateOf(s, 'p', () => r).lost).length;
    expect(lost).toBe(250);
  });
  it('clamps input to what the controls allow', () => {
    const s = linkFaults(99_999, 7, []);
    expect(s.delayMs).toBe(5_000);
    expect(s.loss).toBe(1);
    expect(linkFaults(Number.NaN, -1, []).delayMs).toBe(0);
  });
});
