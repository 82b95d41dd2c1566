// Explanations in words for the vote-phase diagram: names, counts, q, n and f, and the reason the
// replica (src/protocol/replica.ts) gives for each message.
import { describe, expect, it } from 'vitest';
import {
  committeeFacts,
  describeArrow,
  describeQuorum,
  describeViewChange,
  explainArrow,
  explainQuorum,
  explainViewChange,
  factsLabel,
  heightStart,
  nameOf,
  primaryOf,
  quorumLabel,
  viewChangeLabel,
} from '../../src/views/explain.ts';
import type { MessageArrow, NetworkView } from '../../src/views/model.ts';
import { al, bo, cy, di, modelOf, Script, smallRun } from './fixtures.ts';

const view = modelOf(smallRun().obs).view();
const [h1, h2] = view.heights;
const arrow = (h: typeof h1, test: (a: MessageArrow) => boolean): MessageArrow => {
  const found = h!.arrows.find(test);
  if (!found) throw new Error('no such arrow in the fixture');
  return found;
};

describe('explain: names and committee facts', () => {
  it('names validators, and falls back to the start of an unknown id', () => {
    expect(nameOf(view, bo)).toBe('Bo');
    expect(nameOf(view, 'ffeeddccbbaa9988')).toBe('ffeeddcc');
  });

  it('takes q, n and f from a quorum report, or counts the members seen', () => {
    expect(committeeFacts(h1!)).toEqual({ n: 4, q: 3, f: 1, reported: true });
    const s = new Script();
    for (const to of [bo, cy, di]) s.send(1, al, to, 'pre-prepare', 9);
    s.send(1, bo, cy, 'pre-prepare', 9);
    const seen = modelOf(s.obs).view().heights[0]!;
    expect(committeeFacts(seen)).toEqual({ n: 4, q: 3, f: 1, reported: false });
    expect(factsLabel(committeeFacts(h1!))).toBe('q=3 f=1 (n=4)');
    expect(factsLabel(committeeFacts(seen))).toBe('q=3 f=1 (n=4 seen)');
  });

  it('finds the primary of each view from its proposal or new-view', () => {
    expect(primaryOf(h1!, 0)).toBe(al);
    expect(primaryOf(h2!, 1)).toBe(bo);
    expect(primaryOf(h2!, 0)).toBeNull(); // Al was silent
  });

  it('starts a height at the commit of the one before when nothing came earlier', () => {
    expect(heightStart(view, h1!)).toBe(100);
    expect(h2!.startedAt).toBe(2_200);
    expect(heightStart(view, h2!)).toBe(130);
  });

  it('labels markers with votes over q', () => {
    expect(quorumLabel(h1!.quorums[0]!)).toBe('prepared 3/3');
    expect(viewChangeLabel(h2!.viewChanges[0]!)).toBe('timeout → view 1');
    expect(viewChangeLabel(h2!.viewChanges[2]!)).toBe('joins view 1 (f+1)');
  });
});

describe('explain: arrows', () => {
  it('PRE-PREPARE: the primary proposes', () => {
    const text = explainArrow(
      arrow(h1, (a) => a.phase === 'pre-prepare' && a.to === bo),
      view,
    );
    expect(text).toContain(
      'Al, the primary of view 0, sent PRE-PREPARE for height 1 (view 0) to Bo',
    );
    expect(text).toContain('q = 3 for n = 4, so the committee tolerates f = 1 faulty member.');
    expect(text).toContain('reached Bo 10 ms later');
  });

  it('PREPARE: sent after accepting the primary’s PRE-PREPARE', () => {
    const text = explainArrow(
      arrow(h1, (a) => a.phase === 'prepare' && a.from === cy),
      view,
    );
    expect(text).toContain('Cy sent PREPARE for height 1 (view 0)');
    expect(text).toContain('because it accepted the PRE-PREPARE of Al, the primary of view 0');
  });

  it('PREPARE in a later view: the proposal came inside the NEW-VIEW', () => {
    const text = explainArrow(
      arrow(h2, (a) => a.phase === 'prepare' && a.from === cy),
      view,
    );
    expect(text).toContain(
      'accepted the proposal carried in the NEW-VIEW of Bo, the primary of view 1',
    );
  });

  it('COMMIT: held q matching PREPAREs', () => {
    const text = explainArrow(
      arrow(h1, (a) => a.phase === 'commit' && a.from === bo),
      view,
    );
    expect(text).toContain(
      'Bo sent COMMIT for height 1 (view 0) to Al because it held 3 matching PREPAREs',
    );
    expect(text).toContain('q = 3 for n = 4, so the committee tolerates f = 1 faulty member.');
  });

  it('says that a lost message never arrived', () => {
    const lost = arrow(h1, (a) => a.lost);
    const text = explainArrow(lost, view);
    expect(text).toContain('Bo sent PREPARE');
    expect(text).toContain('never reached Di: the network lost it or it was dropped');
    expect(describeArrow(lost, view)).toBe(
      'PREPARE · height 1 · view 0 · signed by Bo · to Di · sent at +10 ms · lost',
    );
  });

  it('says that a message is still in flight', () => {
    const s = new Script();
    s.send(5, al, bo, 'pre-prepare', 4);
    const v = modelOf(s.obs).view();
    const text = explainArrow(v.heights[0]!.arrows[0]!, v);
    expect(text).toContain('still in flight to');
  });

  it('VIEW-CHANGE: on a timeout', () => {
    const text = explainArrow(
      arrow(h2, (a) => a.phase === 'view-change' && a.from === bo),
      view,
    );
    expect(text).toContain('Bo sent VIEW-CHANGE for height 2');
    expect(text).toContain('asking to move to view 1');
    expect(text).toContain('because its view timer ran out in view 0');
    expect(text).toContain('highest prepared certificate');
  });

  it('VIEW-CHANGE: joining f + 1 others', () => {
    const text = explainArrow(
      arrow(h2, (a) => a.phase === 'view-change' && a.from === di),
      view,
    );
    expect(text).toContain('because 2 members (f + 1, so at least one of them honest)');
    expect(text).toContain('rather than wait for its own timer');
  });

  it('NEW-VIEW: the new primary held q VIEW-CHANGEs', () => {
    const text = explainArrow(
      arrow(h2, (a) => a.phase === 'new-view' && a.to === cy),
      view,
    );
    expect(text).toContain(
      'Bo, the primary of view 1, sent NEW-VIEW for height 2 to Cy because it held q = 3 VIEW-CHANGEs for view 1',
    );
    expect(text).toContain('the block of the highest prepared certificate');
  });

  it('describes the signed message itself with times from the height’s start', () => {
    expect(
      describeArrow(
        arrow(h2, (a) => a.phase === 'new-view' && a.to === cy),
        view,
      ),
    ).toBe(
      'NEW-VIEW · height 2 · view 1 · signed by Bo · to Cy · sent at +2095 ms · delivered at +2105 ms',
    );
  });
});

describe('explain: quorum markers and view changes', () => {
  it('prepared: votes, q, n, f and the overlap of two quorums', () => {
    const mark = h1!.quorums.find((m) => m.validator === bo && m.phase === 'prepared')!;
    const text = explainQuorum(mark, view);
    expect(text).toContain('Bo was prepared at height 1 (view 0): it held 3 matching PREPAREs');
    expect(text).toContain('prepared 3/3');
    expect(text).toContain('q = 3 for n = 4, so the committee tolerates f = 1 faulty member.');
    expect(text).toContain('share at least 2 of the 4 members');
    expect(text).toContain('Bo sent COMMIT');
    expect(describeQuorum(mark, view)).toContain(
      '3 matching signed PRE-PREPARE/PREPARE votes held by Bo',
    );
  });

  it('committed: decided the block', () => {
    const mark = h2!.quorums.find((m) => m.validator === cy && m.phase === 'committed')!;
    const text = explainQuorum(mark, view);
    expect(text).toContain('Cy committed height 2 (view 1): it held 3 matching COMMITs');
    expect(text).toContain('committed 3/3');
    expect(text).toContain('moved on to height 3');
  });

  it('says f in the singular and plural correctly', () => {
    const mark = { ...h1!.quorums[0]!, n: 7, q: 5, f: 2, count: 5 };
    expect(explainQuorum(mark, view)).toContain('f = 2 faulty members.');
    const tiny = { ...h1!.quorums[0]!, n: 3, q: 3, f: 0, count: 3 };
    expect(explainQuorum(tiny, view)).toContain('f = 0 faulty members.');
  });

  it('view change on a timeout names the new primary', () => {
    const text = explainViewChange(h2!.viewChanges[0]!, view);
    expect(text).toContain('Bo left view 0 of height 2 for view 1');
    expect(text).toContain('its view timer ran out in view 0, 2070 ms into the height');
    expect(text).toContain('The primary of view 1 (Bo) needs q = 3 VIEW-CHANGEs');
    expect(describeViewChange(h2!.viewChanges[0]!, view)).toBe(
      'VIEW-CHANGE · height 2 · view 0 → 1 · signed by Bo · reason: timeout · at +2070 ms',
    );
  });

  it('view change on f + 1 others', () => {
    const text = explainViewChange(h2!.viewChanges[2]!, view);
    expect(text).toContain('Di left view 0 of height 2 for view 1 because 2 members (f + 1');
  });

  it('explains marks of a height no longer shown without failing', () => {
    const gone: NetworkView = { ...view, heights: [] };
    expect(explainViewChange(h2!.viewChanges[0]!, gone)).toContain('Bo left view 0');
    expect(explainArrow(h1!.arrows[0]!, gone)).toContain('Al, the primary of view 0');
  });
});
