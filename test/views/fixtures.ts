// A small hand-written run for the view tests: four validators (Al, Bo, Cy, Di), height 1 decided
// in view 0 with one PREPARE lost, height 2 decided in view 1 after Al (the primary) stays silent.
import { ViewModel, type Observation, type ValidatorInfo } from '../../src/views/model.ts';
import type { MessageType, ReplicaEvent } from '../../src/protocol/types.ts';

export const [al, bo, cy, di] = ['a1'.repeat(8), 'b2'.repeat(8), 'c3'.repeat(8), 'd4'.repeat(8)];
export const members = [al, bo, cy, di];

export function validators(faulty: Readonly<Record<string, string>> = {}): ValidatorInfo[] {
  return [
    ['Al', al],
    ['Bo', bo],
    ['Cy', cy],
    ['Di', di],
  ].map(([name, id]) => ({
    id: id!,
    name: name!,
    tier: 'core',
    trust: 800,
    fault: faulty[id!] ?? null,
    primary: id === al,
  }));
}

/** Builds observations with message ids handed out in order. */
export class Script {
  readonly obs: Observation[] = [];
  private nextId = 1;

  add(o: Observation): this {
    this.obs.push(o);
    return this;
  }

  event(at: number, validator: string, event: ReplicaEvent): this {
    return this.add({ kind: 'event', at, validator, event });
  }

  /** Sends one copy; returns its id. */
  send(at: number, from: string, to: string, type: MessageType, height: number, view = 0): number {
    const id = this.nextId++;
    this.add({ kind: 'message', at, stage: 'send', id, from, to, type, height, view });
    return id;
  }

  end(
    at: number,
    id: number,
    stage: 'deliver' | 'lost' | 'dropped',
    from: string,
    to: string,
    type: MessageType,
    height: number,
    view = 0,
  ): this {
    return this.add({ kind: 'message', at, stage, id, from, to, type, height, view });
  }

  /** Sends from `from` to every other member, delivered `latency` later, except `lose`. */
  broadcast(
    at: number,
    from: string,
    type: MessageType,
    height: number,
    view = 0,
    latency = 10,
    lose: readonly string[] = [],
  ): this {
    for (const to of members) {
      if (to === from) continue;
      const id = this.send(at, from, to, type, height, view);
      this.end(
        at + latency,
        id,
        lose.includes(to) ? 'lost' : 'deliver',
        from,
        to,
        type,
        height,
        view,
      );
    }
    return this;
  }

  quorum(
    at: number,
    who: string,
    phase: 'prepared' | 'committed',
    height: number,
    view = 0,
    count = 3,
  ): this {
    return this.event(at, who, {
      type: 'quorum',
      phase,
      height,
      view,
      digest: `digest-${height}`,
      count,
      q: 3,
      n: 4,
    });
  }

  commit(at: number, who: string, height: number, digest = `digest-${height}`, view = 0): this {
    return this.event(at, who, {
      type: 'commit',
      height,
      view,
      digest,
      proposer: al,
      txCount: 0,
      viaCatchUp: false,
    });
  }
}

/** Height 1 (view 0, Bo's PREPARE to Di lost) and height 2 (Al silent; view change to view 1). */
export function smallRun(): Script {
  const s = new Script().add({ kind: 'validators', at: 0, validators: validators() });
  // Height 1, view 0: Al proposes, everyone prepares (Bo → Di lost), everyone commits.
  s.event(100, al, {
    type: 'proposal',
    height: 1,
    view: 0,
    digest: 'digest-1',
    proposer: al,
    txCount: 2,
  });
  s.broadcast(100, al, 'pre-prepare', 1);
  for (const who of [bo, cy, di])
    s.broadcast(110, who, 'prepare', 1, 0, 10, who === bo ? [di] : []);
  for (const who of members) s.quorum(120, who, 'prepared', 1);
  for (const who of members) s.broadcast(120, who, 'commit', 1);
  for (const who of members) s.quorum(130, who, 'committed', 1, 0, 4);
  for (const who of members) s.commit(130, who, 1);
  // Height 2: Al says nothing; Bo and Cy time out, Di joins on f + 1; Bo (primary of view 1)
  // sends NEW-VIEW, and the height is decided in view 1.
  s.event(2_200, bo, { type: 'view-change', height: 2, fromView: 0, toView: 1, reason: 'timeout' });
  s.broadcast(2_200, bo, 'view-change', 2, 1);
  s.event(2_205, cy, { type: 'view-change', height: 2, fromView: 0, toView: 1, reason: 'timeout' });
  s.broadcast(2_205, cy, 'view-change', 2, 1);
  s.event(2_215, di, {
    type: 'view-change',
    height: 2,
    fromView: 0,
    toView: 1,
    reason: 'f+1 view-changes',
  });
  s.broadcast(2_215, di, 'view-change', 2, 1);
  s.broadcast(2_225, bo, 'new-view', 2, 1);
  for (const who of [cy, di]) s.broadcast(2_235, who, 'prepare', 2, 1);
  for (const who of [bo, cy, di]) s.quorum(2_245, who, 'prepared', 2, 1);
  for (const who of [bo, cy, di]) s.broadcast(2_245, who, 'commit', 2, 1);
  for (const who of [bo, cy, di]) s.quorum(2_255, who, 'committed', 2, 1);
  for (const who of [bo, cy, di]) s.commit(2_255, who, 2, 'digest-2', 1);
  return s;
}

export function modelOf(obs: readonly Observation[], heightsKept?: number): ViewModel {
  const model = new ViewModel(heightsKept === undefined ? {} : { heightsKept });
  for (const o of obs) model.observe(o);
  return model;
}
