// Why the network did what it did, in words: for each arrow, quorum marker and view change of the
// vote-phase diagram, a plain sentence with names, counts, q, n and f. The wording follows the
// replica (src/protocol/replica.ts): a member sends PREPARE after accepting the primary's
// PRE-PREPARE; it is prepared, and sends COMMIT, once it holds q matching votes (the PRE-PREPARE
// counts as the primary's PREPARE); it commits with q matching COMMITs and the block; it sends
// VIEW-CHANGE on a timeout or when f + 1 members ask for a higher view; the primary of the new
// view sends NEW-VIEW once it holds q VIEW-CHANGEs. Pure, no DOM.

import { faultsTolerated, quorumSize, weakQuorumSize } from '../protocol/quorum.ts';
import type {
  HeightView,
  MessageArrow,
  NetworkView,
  Phase,
  QuorumMark,
  ViewChangeMark,
} from './model.ts';

/** How a phase's message is written in explanations and labels. */
export const phaseWord: Readonly<Record<Phase, string>> = {
  'pre-prepare': 'PRE-PREPARE',
  prepare: 'PREPARE',
  commit: 'COMMIT',
  'view-change': 'VIEW-CHANGE',
  'new-view': 'NEW-VIEW',
};

// The diagram explains every arrow (for its aria-label) on each update: look-ups are indexed once
// per view and per height, so an explanation costs the same at 16 members as at 4.
const names = new WeakMap<NetworkView, Map<string, string>>();

/** A validator's name, or the start of its id when it is not (or no longer) registered. */
export function nameOf(view: NetworkView, id: string): string {
  let byId = names.get(view);
  if (!byId) {
    byId = new Map(view.validators.map((v) => [v.id, v.name]));
    names.set(view, byId);
  }
  return byId.get(id) ?? id.slice(0, 8);
}

interface HeightIndex {
  readonly facts: CommitteeFacts;
  /** view → who sent its PRE-PREPARE, and who sent its NEW-VIEW. */
  readonly prePrepareFrom: Map<number, string>;
  readonly newViewFrom: Map<number, string>;
  /** `${validator}/${view}` → its prepared mark. */
  readonly prepared: Map<string, QuorumMark>;
  /** `${validator}/${toView}` → its view change. */
  readonly viewChange: Map<string, ViewChangeMark>;
}

const indexes = new WeakMap<HeightView, HeightIndex>();

function indexOf(h: HeightView): HeightIndex {
  let index = indexes.get(h);
  if (index) return index;
  const prePrepareFrom = new Map<number, string>();
  const newViewFrom = new Map<number, string>();
  for (const a of h.arrows) {
    if (a.phase === 'pre-prepare' && !prePrepareFrom.has(a.view))
      prePrepareFrom.set(a.view, a.from);
    if (a.phase === 'new-view' && !newViewFrom.has(a.view)) newViewFrom.set(a.view, a.from);
  }
  const prepared = new Map<string, QuorumMark>();
  for (const m of h.quorums) {
    const key = `${m.validator}/${m.view}`;
    if (m.phase === 'prepared' && !prepared.has(key)) prepared.set(key, m);
  }
  const viewChange = new Map<string, ViewChangeMark>();
  for (const m of h.viewChanges) {
    const key = `${m.validator}/${m.toView}`;
    if (!viewChange.has(key)) viewChange.set(key, m);
  }
  index = { facts: countFacts(h), prePrepareFrom, newViewFrom, prepared, viewChange };
  indexes.set(h, index);
  return index;
}

export interface CommitteeFacts {
  readonly n: number;
  readonly q: number;
  readonly f: number;
  /** True when n comes from a replica's quorum report; false when counted from the lanes seen. */
  readonly reported: boolean;
}

/**
 * The committee size, quorum and faults tolerated at a height: as a replica reported them with a
 * quorum, or else counted from the members seen sending or receiving votes there.
 */
export function committeeFacts(h: HeightView): CommitteeFacts {
  return indexOf(h).facts;
}

function countFacts(h: HeightView): CommitteeFacts {
  const mark = h.quorums[0];
  if (mark) return { n: mark.n, q: mark.q, f: mark.f, reported: true };
  const seen = new Set(h.lanes);
  for (const a of h.arrows) {
    seen.add(a.from);
    seen.add(a.to);
  }
  const n = Math.max(1, seen.size);
  return { n, q: quorumSize(n), f: faultsTolerated(n), reported: false };
}

/** "prepared 3/3": matching votes held over the quorum needed. */
export function quorumLabel(mark: QuorumMark): string {
  return `${mark.phase} ${mark.count}/${mark.q}`;
}

/** "q=3 f=1 (n=4)" for a height's committee. */
export function factsLabel(facts: CommitteeFacts): string {
  return `q=${facts.q} f=${facts.f} (n=${facts.n}${facts.reported ? '' : ' seen'})`;
}

export function viewChangeLabel(mark: ViewChangeMark): string {
  return mark.reason === 'timeout'
    ? `timeout → view ${mark.toView}`
    : `joins view ${mark.toView} (f+1)`;
}

function plural(count: number, one: string, many: string = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

function committeeSentence(facts: CommitteeFacts): string {
  return (
    `q = ${facts.q} for n = ${facts.n}, so the committee tolerates ` +
    `f = ${plural(facts.f, 'faulty member')}.`
  );
}

function heightOf(view: NetworkView, height: number): HeightView | undefined {
  return view.heights.find((h) => h.height === height);
}

function emptyHeight(height: number): HeightView {
  return {
    height,
    lanes: [],
    arrows: [],
    quorums: [],
    viewChanges: [],
    startedAt: 0,
    committedAt: null,
    digest: null,
  };
}

/** The primary of `v` at a height, as the diagram shows it: who sent its proposal or new-view. */
export function primaryOf(h: HeightView, v: number): string | null {
  const index = indexOf(h);
  return index.prePrepareFrom.get(v) ?? index.newViewFrom.get(v) ?? null;
}

/**
 * When a height began, as far as the diagram can tell: its first message or event, or the first
 * commit of the height before if that came earlier (a silent primary sends nothing, and the wait
 * until the timeout is part of the height).
 */
export function heightStart(view: NetworkView, h: HeightView): number {
  const before = heightOf(view, h.height - 1)?.committedAt ?? null;
  return before === null ? h.startedAt : Math.min(h.startedAt, before);
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

/** When the message left and arrived, relative to the start of its height. */
function fate(arrow: MessageArrow, start: number, to: string): string {
  const sent = `sent ${ms(arrow.sentAt - start)} into the height`;
  if (arrow.lost)
    return `It was ${sent} and never reached ${to}: the network lost it or it was dropped.`;
  if (arrow.deliveredAt === null) return `It was ${sent} and is still in flight to ${to}.`;
  return `It was ${sent} and reached ${to} ${ms(arrow.deliveredAt - arrow.sentAt)} later.`;
}

/** The signed message itself, in one line: what, where, who signed it, for whom, when. */
export function describeArrow(arrow: MessageArrow, view: NetworkView): string {
  const h = heightOf(view, arrow.height) ?? emptyHeight(arrow.height);
  const start = heightStart(view, h);
  const status = arrow.lost
    ? 'lost'
    : arrow.deliveredAt === null
      ? 'in flight'
      : `delivered at +${ms(arrow.deliveredAt - start)}`;
  return (
    `${phaseWord[arrow.phase]} · height ${arrow.height} · view ${arrow.view} · ` +
    `signed by ${nameOf(view, arrow.from)} · to ${nameOf(view, arrow.to)} · ` +
    `sent at +${ms(arrow.sentAt - start)} · ${status}`
  );
}

export function explainArrow(arrow: MessageArrow, view: NetworkView): string {
  const h = heightOf(view, arrow.height) ?? emptyHeight(arrow.height);
  const facts = committeeFacts(h);
  const from = nameOf(view, arrow.from);
  const to = nameOf(view, arrow.to);
  const at = `height ${arrow.height} (view ${arrow.view})`;
  const v = arrow.view;
  const primaryId = primaryOf(h, v);
  const primary = primaryId === null ? `the primary of view ${v}` : nameOf(view, primaryId);
  let why: string;
  switch (arrow.phase) {
    case 'pre-prepare':
      why =
        `${from}, the primary of view ${v}, sent PRE-PREPARE for ${at} to ${to}: its signed ` +
        `proposal of the next block. ${to} accepts it if it comes from the primary of the view ` +
        `and the block is valid, and then sends PREPARE to the committee; the PRE-PREPARE counts ` +
        `as ${from}'s own PREPARE. ${committeeSentence(facts)}`;
      break;
    case 'prepare': {
      const source =
        primaryId !== null && indexOf(h).prePrepareFrom.has(v)
          ? `the PRE-PREPARE of ${primary}, the primary of view ${v}`
          : primaryId !== null
            ? `the proposal carried in the NEW-VIEW of ${primary}, the primary of view ${v}`
            : `the proposal of the primary of view ${v}`;
      why =
        `${from} sent PREPARE for ${at} to ${to} because it accepted ${source} ` +
        `(signed by the primary, for a valid block). A member is prepared once it holds ` +
        `q = ${facts.q} matching PREPAREs, the PRE-PREPARE counting as the primary's; ` +
        committeeSentence(facts);
      break;
    }
    case 'commit': {
      const prepared = indexOf(h).prepared.get(`${arrow.from}/${v}`);
      const held = prepared
        ? `it held ${plural(prepared.count, 'matching PREPARE')}`
        : `it held at least ${plural(facts.q, 'matching PREPARE')}`;
      why =
        `${from} sent COMMIT for ${at} to ${to} because ${held} (the primary's PRE-PREPARE ` +
        `counts as one), so it was prepared; ${committeeSentence(facts)} A member commits the ` +
        `block once it holds q = ${facts.q} matching COMMITs.`;
      break;
    }
    case 'view-change': {
      const mark = indexOf(h).viewChange.get(`${arrow.from}/${v}`);
      const reason =
        mark?.reason === 'timeout'
          ? `its view timer ran out in view ${mark.fromView} before the height was decided (a timeout)`
          : mark
            ? `${weakQuorumSize(facts.n)} members (f + 1, so at least one of them honest) had ` +
              `already asked for a view above ${mark.fromView}, so it joined them rather than ` +
              `wait for its own timer`
            : `it wants to leave the view before view ${v}`;
      why =
        `${from} sent VIEW-CHANGE for height ${arrow.height} to ${to}, asking to move to view ` +
        `${v}, because ${reason}. It carries, signed, its highest prepared certificate at this ` +
        `height (if it has one) and the PRE-PREPARE it accepted in the view it leaves. Once the ` +
        `primary of view ${v} holds q = ${facts.q} VIEW-CHANGEs for it, it sends NEW-VIEW; ` +
        committeeSentence(facts);
      break;
    }
    case 'new-view':
      why =
        `${from}, the primary of view ${v}, sent NEW-VIEW for height ${arrow.height} to ${to} ` +
        `because it held q = ${facts.q} VIEW-CHANGEs for view ${v}. It carries them with its ` +
        `PRE-PREPARE for view ${v}: the block of the highest prepared certificate among them if ` +
        `there is one (it may have committed somewhere), otherwise a fresh block. ${to} checks ` +
        `it, moves to view ${v} and answers with PREPARE. ${committeeSentence(facts)}`;
      break;
  }
  return `${why} ${fate(arrow, heightStart(view, h), to)}`;
}

export function explainQuorum(mark: QuorumMark, view: NetworkView): string {
  const who = nameOf(view, mark.validator);
  const facts: CommitteeFacts = { n: mark.n, q: mark.q, f: mark.f, reported: true };
  const overlap = 2 * mark.q - mark.n;
  const at = `height ${mark.height} (view ${mark.view})`;
  if (mark.phase === 'prepared')
    return (
      `${who} was prepared at ${at}: it held ${plural(mark.count, 'matching PREPARE')} ` +
      `(the primary's PRE-PREPARE counts as one), at least q = ${mark.q} — prepared ` +
      `${mark.count}/${mark.q}. ${committeeSentence(facts)} Any two quorums of ${mark.q} ` +
      `share at least ${overlap} of the ${mark.n} members, so at least one honest member is in ` +
      `both. Being prepared, ${who} sent COMMIT to the committee.`
    );
  return (
    `${who} committed ${at}: it held ${plural(mark.count, 'matching COMMIT')}, at least ` +
    `q = ${mark.q}, and the block — committed ${mark.count}/${mark.q}. ` +
    `${committeeSentence(facts)} So ${who} decided the block and moved on to height ` +
    `${mark.height + 1}.`
  );
}

export function explainViewChange(mark: ViewChangeMark, view: NetworkView): string {
  const who = nameOf(view, mark.validator);
  const h = heightOf(view, mark.height) ?? emptyHeight(mark.height);
  const facts = committeeFacts(h);
  const old = primaryOf(h, mark.fromView);
  const next = primaryOf(h, mark.toView);
  const reason =
    mark.reason === 'timeout'
      ? `its view timer ran out in view ${mark.fromView}, ${ms(mark.at - heightStart(view, h))} ` +
        `into the height, before the height was decided (a timeout): the primary${old === null ? '' : `, ${nameOf(view, old)},`} may be faulty, ` +
        `slow or cut off`
      : `${weakQuorumSize(facts.n)} members (f + 1, so at least one of them honest) had already ` +
        `asked for a view above ${mark.fromView}, so it joined them rather than wait for its ` +
        `own timer`;
  const primary = next === null ? '' : ` (${nameOf(view, next)})`;
  return (
    `${who} left view ${mark.fromView} of height ${mark.height} for view ${mark.toView} ` +
    `because ${reason}. It sent a signed VIEW-CHANGE to the committee carrying its highest ` +
    `prepared certificate at this height (if any) and the PRE-PREPARE it accepted in view ` +
    `${mark.fromView}. The primary of view ${mark.toView}${primary} needs q = ${facts.q} ` +
    `VIEW-CHANGEs for view ${mark.toView} to send NEW-VIEW; ${committeeSentence(facts)}`
  );
}

/** The certificate behind a quorum marker, in one line. */
export function describeQuorum(mark: QuorumMark, view: NetworkView): string {
  const h = heightOf(view, mark.height) ?? emptyHeight(mark.height);
  const votes = mark.phase === 'prepared' ? 'PRE-PREPARE/PREPARE' : 'COMMIT';
  return (
    `${mark.phase} certificate · height ${mark.height} · view ${mark.view} · ` +
    `${mark.count} matching signed ${votes} votes held by ${nameOf(view, mark.validator)} · ` +
    `q=${mark.q} f=${mark.f} n=${mark.n} · at +${ms(mark.at - heightStart(view, h))}`
  );
}

/** The view change behind a marker, in one line. */
export function describeViewChange(mark: ViewChangeMark, view: NetworkView): string {
  const h = heightOf(view, mark.height) ?? emptyHeight(mark.height);
  return (
    `VIEW-CHANGE · height ${mark.height} · view ${mark.fromView} → ${mark.toView} · ` +
    `signed by ${nameOf(view, mark.validator)} · reason: ${mark.reason} · ` +
    `at +${ms(mark.at - heightStart(view, h))}`
  );
}
