// Every lesson of solo mode reaches each of its moments, in order, within its time.
import { describe, expect, it } from 'vitest';
import { lessons, runLessonStep } from '../../src/solo/lessons.ts';
import { SoloSession } from '../../src/solo/session.ts';

describe('lessons', () => {
  it('has at least five, with unique ids and some text per step', () => {
    expect(lessons.length).toBeGreaterThanOrEqual(5);
    expect(new Set(lessons.map((l) => l.id)).size).toBe(lessons.length);
    for (const l of lessons) for (const s of l.steps) expect(s.text.length).toBeGreaterThan(40);
  });

  for (const lesson of lessons) {
    it(`"${lesson.title}" runs to its end`, async () => {
      const session = new SoloSession(lesson.config);
      for (const [i, step] of lesson.steps.entries()) {
        const r = await runLessonStep(session, step);
        expect(r, `step ${i + 1}`).toEqual({ ok: true });
        // A ledger moment is on screen when the lesson pauses: the ledger in view shows it.
        const until = step.until;
        const ledger = session.ledger();
        if (until.kind === 'rejected')
          expect(ledger.bills.some((b) => b.reason?.includes(until.reason))).toBe(true);
        if (until.kind === 'settled-later')
          expect(ledger.bills.some((b) => b.state === 'settled' && b.highValue)).toBe(true);
        // A tier moment shows in the rings (tiers as the most advanced honest replica sees them).
        const faulty = session.snapshot().validators.filter((v) => v.fault !== null);
        if (until.kind === 'byzantine-moved')
          expect(faulty.some((v) => v.tier === until.to)).toBe(true);
        if (until.kind === 'quarantined')
          expect(faulty.some((v) => v.tier === 'quarantined')).toBe(true);
      }
      const safety = session.summary().safety;
      if (lesson.id === 'more-than-f') expect(safety.forks).toBeGreaterThan(0);
      else expect(safety.forks).toBe(0);
    }, 120_000);
  }
});
