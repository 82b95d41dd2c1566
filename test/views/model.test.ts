// The view model built from a hand-written sequence of observations: message arrows with their
// fate, quorum and view-change marks, commits and the safety check, tier moves, and what is kept.
import { describe, expect, it } from 'vitest';
import { ViewModel, tallyText } from '../../src/views/model.ts';
import type { ReplicaEvent } from '../../src/protocol/types.ts';
import { al, bo, cy, di, modelOf, Script, smallRun, validators } from './fixtures.ts';

describe('view model: heights, arrows and marks', () => {
  const view = modelOf(smallRun().obs).view();
  const [h1, h2] = view.heights;

  it('keeps each height with its lanes, arrows, quorums and commit', () => {
    expect(view.heights.map((h) => h.height)).toEqual([1, 2]);
    expect(h1!.lanes).toEqual([al, bo, cy, di]);
    // 3 pre-prepares + 3 × 3 prepares + 4 × 3 commits.
    expect(h1!.arrows).toHaveLength(3 + 9 + 12);
    expect(h1!.quorums.filter((q) => q.phase === 'prepared')).toHaveLength(4);
    expect(h1!.quorums.filter((q) => q.phase === 'committed')).toHaveLength(4);
    expect(h1!.startedAt).toBe(100);
    expect(h1!.committedAt).toBe(130);
    expect(h1!.digest).toBe('digest-1');
    // Al never sent anything at height 2, so it has no lane there.
    expect(h2!.lanes).toEqual([bo, cy, di]);
  });

  it('records when each message was sent and delivered, and which was lost', () => {
    const prePrepare = h1!.arrows.find((a) => a.phase === 'pre-prepare' && a.to === bo)!;
    expect(prePrepare).toMatchObject({ from: al, height: 1, view: 0, sentAt: 100 });
    expect(prePrepare.deliveredAt).toBe(110);
    expect(prePrepare.lost).toBe(false);
    const lost = h1!.arrows.filter((a) => a.lost);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ phase: 'prepare', from: bo, to: di, deliveredAt: null });
  });

  it('marks quorums with q, n and f of the committee', () => {
    const q = h1!.quorums.find((m) => m.validator === bo && m.phase === 'prepared')!;
    expect(q).toMatchObject({ height: 1, view: 0, count: 3, q: 3, n: 4, f: 1, at: 120 });
  });

  it('marks view changes with their reason and the views', () => {
    expect(h2!.viewChanges.map((v) => [v.validator, v.fromView, v.toView, v.reason])).toEqual([
      [bo, 0, 1, 'timeout'],
      [cy, 0, 1, 'timeout'],
      [di, 0, 1, 'f+1 view-changes'],
    ]);
    expect(h2!.arrows.filter((a) => a.phase === 'new-view').every((a) => a.view === 1)).toBe(true);
  });

  it('counts messages sent, lost and commits', () => {
    const sends = h1!.arrows.length + h2!.arrows.length;
    expect(view.counts).toEqual({ messages: sends, lost: 1, commits: 4 + 3 });
    expect(view.inFlight).toEqual([]);
    expect(view.safety.ok).toBe(true);
    expect(view.now).toBe(2_255);
  });
});

describe('view model: messages in flight', () => {
  it('shows a message in flight until it arrives or is dropped', () => {
    const model = new ViewModel();
    const s = new Script();
    const a = s.send(10, al, bo, 'pre-prepare', 1);
    const b = s.send(10, al, cy, 'pre-prepare', 1);
    for (const o of s.obs) model.observe(o);
    expect(model.view().inFlight.map((m) => m.id)).toEqual([a, b]);
    model.observe({
      kind: 'message',
      at: 15,
      stage: 'deliver',
      id: a,
      from: al,
      to: bo,
      type: 'pre-prepare',
      height: 1,
      view: 0,
    });
    model.observe({
      kind: 'message',
      at: 16,
      stage: 'dropped',
      id: b,
      from: al,
      to: cy,
      type: 'pre-prepare',
      height: 1,
      view: 0,
    });
    const view = model.view();
    expect(view.inFlight).toEqual([]);
    expect(view.heights[0]!.arrows.map((x) => [x.id, x.deliveredAt, x.lost])).toEqual([
      [a, 15, false],
      [b, null, true],
    ]);
    expect(view.counts).toMatchObject({ messages: 2, lost: 1 });
  });

  it('thins out the oldest messages in flight beyond the limit (the run keeps them)', () => {
    const model = new ViewModel({ maxInFlight: 3 });
    const s = new Script();
    const ids = [bo, cy, di, bo, cy].map((to, i) => s.send(i, al, to, 'prepare', 1));
    for (const o of s.obs) model.observe(o);
    const view = model.view();
    expect(view.inFlight.map((m) => m.id)).toEqual(ids.slice(2));
    expect(view.heights[0]!.arrows).toHaveLength(5);
  });

  it('ignores messages that are not vote phases for the drawing, but counts them', () => {
    const model = new ViewModel();
    model.observe({ kind: 'message', at: 1, stage: 'send', id: 1, from: al, to: bo, type: 'tx' });
    model.observe({
      kind: 'message',
      at: 2,
      stage: 'send',
      id: 2,
      from: al,
      to: bo,
      type: 'decided',
      height: 1,
      view: 0,
    });
    const view = model.view();
    expect(view.heights).toEqual([]);
    expect(view.inFlight).toEqual([]);
    expect(view.counts.messages).toBe(2);
  });

  it('draws what a live tab receives though it never saw the send', () => {
    const model = new ViewModel();
    model.observe({
      kind: 'message',
      at: 40,
      stage: 'deliver',
      id: 7,
      from: bo,
      to: al,
      type: 'prepare',
      height: 3,
      view: 0,
    });
    const h = model.view().heights[0]!;
    expect(h.height).toBe(3);
    expect(h.lanes).toEqual([bo]);
    expect(h.arrows).toEqual([
      {
        id: 7,
        phase: 'prepare',
        from: bo,
        to: al,
        height: 3,
        view: 0,
        sentAt: 40,
        deliveredAt: 40,
        lost: false,
      },
    ]);
  });
});

describe('view model: heights kept', () => {
  it('keeps the last few heights and ignores older ones arriving late', () => {
    const s = new Script();
    for (let h = 1; h <= 6; h++) s.broadcast(h * 100, al, 'pre-prepare', h);
    s.send(700, bo, cy, 'commit', 1); // a straggler for a height long gone
    const view = modelOf(s.obs, 3).view();
    expect(view.heights.map((h) => h.height)).toEqual([4, 5, 6]);
  });
});

describe('view model: safety', () => {
  it('reports two honest validators committing different digests at one height', () => {
    const s = new Script().add({
      kind: 'validators',
      at: 0,
      validators: validators({ [di]: 'equivocate' }),
    });
    s.commit(10, al, 1, 'x').commit(11, bo, 1, 'x');
    s.commit(12, di, 2, 'y').commit(13, al, 2, 'z'); // Di is faulty: its commit does not count
    let view = modelOf(s.obs).view();
    expect(view.safety).toEqual({ ok: true, violations: [] });
    s.commit(14, cy, 1, 'w');
    view = modelOf(s.obs).view();
    expect(view.safety.ok).toBe(false);
    expect(view.safety.violations).toEqual([
      {
        kind: 'conflicting-commits',
        height: 1,
        branches: [
          { digest: 'x', validators: [al, bo] },
          { digest: 'w', validators: [cy] },
        ],
      },
    ]);
    expect(view.heights.find((h) => h.height === 1)!.digest).toBe('x');
  });

  it('takes who is honest from the options when given', () => {
    const model = new ViewModel({ honest: (id) => id !== bo });
    const s = new Script().commit(1, al, 1, 'x').commit(2, bo, 1, 'y');
    for (const o of s.obs) model.observe(o);
    expect(model.view().safety.ok).toBe(true);
  });
});

describe('view model: tier moves', () => {
  const move = (
    epoch: number,
    to: 'core' | 'quarantined',
    before: number,
    after: number,
  ): ReplicaEvent => ({
    type: 'tier-change',
    id: di,
    from: 'core',
    to,
    trustBefore: before,
    trustAfter: after,
    reason: to === 'core' ? 'trust-rose' : 'evidence',
    epoch,
    tally:
      to === 'core' ? { certificates: 8, signed: 8, timeoutsCaused: 0, attestations: 0 } : null,
  });

  it('keeps one move when every validator reports it', () => {
    const s = new Script();
    for (const who of [al, bo, cy]) s.event(10, who, move(2, 'quarantined', 731, 0));
    const view = modelOf(s.obs).view();
    expect(view.moves).toHaveLength(1);
    expect(view.moves[0]!.text).toBe('trust 731 → 0: quarantined on committed evidence');
    expect(view.lastMove.get(di)).toEqual(view.moves[0]);
  });

  it('ignores a lagging validator reporting an older move after a newer one', () => {
    const s = new Script();
    s.event(10, al, move(2, 'core', 412, 731));
    s.event(20, al, move(3, 'quarantined', 731, 0));
    s.event(30, bo, move(3, 'quarantined', 731, 0));
    s.event(40, cy, move(2, 'core', 412, 731)); // Cy catches up on epoch 2 late
    const view = modelOf(s.obs).view();
    expect(view.moves.map((m) => m.epoch)).toEqual([2, 3]);
    expect(view.lastMove.get(di)!.epoch).toBe(3);
    expect(view.lastMove.get(di)!.to).toBe('quarantined');
    expect(view.moves[0]!.text).toBe(
      'trust 412 → 731: trust rose with participation (signed 8 of 8 commit certificates this epoch)',
    );
  });
});

describe('view model: what an epoch recorded, in words', () => {
  it('names certificates signed, views timed out and attestations, or says nothing was recorded', () => {
    expect(tallyText({ certificates: 8, signed: 5, timeoutsCaused: 1, attestations: 0 })).toBe(
      'signed 5 of 8 commit certificates, 1 view timed out as primary this epoch',
    );
    expect(tallyText({ certificates: 0, signed: 0, timeoutsCaused: 0, attestations: 3 })).toBe(
      '3 attestations included this epoch',
    );
    expect(tallyText({ certificates: 0, signed: 0, timeoutsCaused: 0, attestations: 0 })).toBe(
      'nothing recorded this epoch',
    );
  });
});
