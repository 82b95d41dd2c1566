// DESIGN.md §4.2, transition by transition: real Replicas driven message by message through a tiny
// synchronous in-memory network (a FIFO queue of envelopes), so every step of a height — start,
// pre-prepare, prepare, commit, decide, view change, new-view, catch-up — and every refusal (bad
// signature, wrong proposer, invalid block, equivocation, forged certificate) can be watched.
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/crypto/encoding.ts';
import { SignatureVerifier } from '../../src/crypto/verify.ts';
import { createCity } from '../../src/ledger/city.ts';
import { balanceOf } from '../../src/ledger/ledger.ts';
import type { SignatureCheck, SignedTx } from '../../src/ledger/types.ts';
import { Replica } from '../../src/protocol/replica.ts';
import { blockHash, signVote, voteSigningBytes } from '../../src/protocol/signing.ts';
import {
  defaultProtocolConfig,
  type Block,
  type CommittedBlock,
  type Genesis,
  type Message,
  type ProtocolConfig,
  type ProtocolMode,
  type ReplicaEvent,
  type ReplicaInput,
  type ReplicaOutput,
  type Timer,
  type ValidatorId,
  type Vote,
} from '../../src/protocol/types.ts';

// ── fixtures ─────────────────────────────────────────────────────────────────────────────────

const chainId = 'replica-test-chain';
const city = createCity({ seed: 5, households: 3, chainId, validators: 4 });
const [alice, bob] = [city.households[0]!, city.households[1]!];
const secretOf = new Map(city.validators.map((v) => [v.id, v.keys.secretKey]));

/** One verifier for all replicas (allowed in one process): each signature is checked once. */
const verifier = new SignatureVerifier();
const check: SignatureCheck = (pk, msg, sig) => verifier.check(pk, msg, sig);

function genesisFor(mode: ProtocolMode = 'mlt', overrides: Partial<ProtocolConfig> = {}): Genesis {
  return { config: { ...defaultProtocolConfig, ...overrides, mode }, ledger: city.genesis(), initialTrust: {} };
}

function transfer(nonce: number, amount = 1_000): SignedTx {
  return city.sign(alice.id, { type: 'transfer', nonce, to: bob.id, asset: 'CNY', amount });
}

function flip(sig: Uint8Array): Uint8Array {
  const out = sig.slice();
  out[5] = out[5]! ^ 0x40;
  return out;
}

function sign(signer: ValidatorId, kind: Vote['kind'], height: number, view: number, digest: string): Vote {
  return signVote(chainId, secretOf.get(signer)!, signer, kind, height, view, digest);
}

type EventOf<T extends ReplicaEvent['type']> = Extract<ReplicaEvent, { type: T }>;
function eventsOf<T extends ReplicaEvent['type']>(out: ReplicaOutput, type: T): EventOf<T>[] {
  return out.events.filter((e): e is EventOf<T> => e.type === type);
}
function sentOf<T extends Message['type']>(out: ReplicaOutput, type: T): { to: ValidatorId; message: Extract<Message, { type: T }> }[] {
  return out.messages.filter((m) => m.message.type === type) as { to: ValidatorId; message: Extract<Message, { type: T }> }[];
}

/** JSON with byte arrays hex-encoded, for comparing outputs. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? `hex:${toHex(v)}` : v));
}

// ── the harness ──────────────────────────────────────────────────────────────────────────────

interface Delivery {
  readonly from: ValidatorId;
  readonly to: ValidatorId;
  readonly message: Message;
}

/** A synchronous network: replicas, a FIFO queue of envelopes, and a log of every input/output. */
class Net {
  readonly replicas: Replica[];
  readonly byId = new Map<ValidatorId, Replica>();
  readonly queue: Delivery[] = [];
  readonly log: { id: ValidatorId; input: ReplicaInput; output: ReplicaOutput }[] = [];
  /** Replicas that neither receive nor send (crashed, or not started yet). */
  readonly offline = new Set<ValidatorId>();
  now = 0;

  constructor(readonly genesis: Genesis = genesisFor()) {
    this.replicas = city.validators.map((v) => new Replica({ genesis, keys: v.keys, check }));
    for (const r of this.replicas) this.byId.set(r.id, r);
  }

  get ids(): ValidatorId[] {
    return this.replicas.map((r) => r.id);
  }

  get(id: ValidatorId): Replica {
    const r = this.byId.get(id);
    if (!r) throw new Error(`no replica ${id}`);
    return r;
  }

  /** Hands one input to a replica and queues what it sends. */
  input(id: ValidatorId, input: ReplicaInput): ReplicaOutput {
    const output = this.get(id).handle(input);
    this.log.push({ id, input, output });
    if (!this.offline.has(id)) for (const m of output.messages) this.queue.push({ from: id, to: m.to, message: m.message });
    return output;
  }

  start(ids: readonly ValidatorId[] = this.ids): Map<ValidatorId, ReplicaOutput> {
    return new Map(ids.map((id) => [id, this.input(id, { type: 'start', now: this.now })]));
  }

  submit(id: ValidatorId, tx: SignedTx): ReplicaOutput {
    return this.input(id, { type: 'submit', now: ++this.now, tx });
  }

  deliver(from: ValidatorId, to: ValidatorId, message: Message): ReplicaOutput {
    return this.input(to, { type: 'message', now: ++this.now, from, message });
  }

  fire(id: ValidatorId, timer: Timer): ReplicaOutput {
    return this.input(id, { type: 'timer', now: ++this.now, timer });
  }

  /** The view timer of the replica's current height and view. */
  fireViewTimer(id: ValidatorId): ReplicaOutput {
    const r = this.get(id);
    return this.fire(id, { kind: 'view', height: r.height, view: r.view, afterMs: 0 });
  }

  /** Delivers queued envelopes in FIFO order until the queue is empty (or `keep` refuses them). */
  run(keep: (d: Delivery) => boolean = () => true, maxSteps = 5_000): number {
    let steps = 0;
    while (this.queue.length > 0) {
      if (++steps > maxSteps) throw new Error('network did not settle');
      const d = this.queue.shift()!;
      if (this.offline.has(d.to) || this.offline.has(d.from) || !keep(d)) continue;
      this.deliver(d.from, d.to, d.message);
    }
    return steps;
  }

  /** Takes (removes) the queued envelopes that match. */
  take(match: (d: Delivery) => boolean): Delivery[] {
    const taken = this.queue.filter(match);
    const rest = this.queue.filter((d) => !match(d));
    this.queue.length = 0;
    this.queue.push(...rest);
    return taken;
  }

  /** Every event a replica emitted so far. */
  events(id: ValidatorId): ReplicaEvent[] {
    return this.log.filter((l) => l.id === id).flatMap((l) => l.output.events);
  }

  primary(view = 0): ValidatorId {
    return this.replicas[0]!.chain.primary(view);
  }

  /** Commits one height with everyone online: the primary proposes on its heartbeat timer. */
  heartbeat(): void {
    const p = this.replicas.find((r) => !this.offline.has(r.id))!.chain.primary(0);
    const r = this.get(p);
    this.fire(p, { kind: 'propose', height: r.height, view: 0, afterMs: 0 });
    this.run();
  }
}

/** Replica ids of a started net: the primary of (1, 0) and three backups. */
function roles(net: Net): { primary: ValidatorId; backups: ValidatorId[] } {
  const primary = net.primary(0);
  return { primary, backups: net.ids.filter((id) => id !== primary) };
}


describe('probe', () => {
  it('A: block naming another proposer', () => {
    const net = new Net(); net.start();
    const { primary, backups } = roles(net);
    const block: Block = { height: 1, prevHash: net.get(primary).chain.headHash, proposer: backups[0]!, txs: [], lastCommit: null, attestations: [], evidence: [] };
    const vote = sign(primary, 'pre-prepare', 1, 0, blockHash(block));
    const out = net.deliver(primary, backups[1]!, { type: 'pre-prepare', vote, block });
    console.log('A', JSON.stringify(out.events.map(e=>e.type)), out.messages.map(m=>m.message.type));
  });
  it('B: new-view huge view', () => {
    const net = new Net(); net.start();
    const { primary, backups } = roles(net);
    const outsider = city.households[2]!;
    for (const view of [1000, 100000, 1000000]) {
      const block: Block = { height: 1, prevHash: net.get(primary).chain.headHash, proposer: primary, txs: [], lastCommit: null, attestations: [], evidence: [] };
      const proposal = signVote(chainId, outsider.keys.secretKey, outsider.id, 'pre-prepare', 1, view, blockHash(block));
      const t = performance.now();
      const out = net.deliver(outsider.id, backups[0]!, { type: 'new-view', height: 1, view, viewChanges: [], proposal, block });
      console.log('B', view, performance.now() - t, JSON.stringify(out.events), (net.get(backups[0]!).chain.schedule as any).sequence.length);
    }
  });
  it('C: negative view pre-prepare', () => {
    const net = new Net(); net.start();
    const { primary, backups } = roles(net);
    const block: Block = { height: 1, prevHash: net.get(primary).chain.headHash, proposer: backups[0]!, txs: [], lastCommit: null, attestations: [], evidence: [] };
    const vote = sign(backups[0]!, 'pre-prepare', 1, -1, blockHash(block));
    try { const out = net.deliver(backups[0]!, backups[1]!, { type: 'pre-prepare', vote, block }); console.log('C ok', JSON.stringify(out.events)); } catch (e) { console.log('C threw', String(e)); }
    const vote2 = sign(backups[0]!, 'prepare', 1, -1, blockHash(block));
    try { const out = net.deliver(backups[0]!, backups[1]!, { type: 'prepare', vote: vote2 }); console.log('C2 ok', JSON.stringify(out.events)); } catch (e) { console.log('C2 threw', String(e)); }
    const vote3 = sign(backups[0]!, 'pre-prepare', 1, 2.5, blockHash(block));
    try { const out = net.deliver(backups[0]!, backups[1]!, { type: 'pre-prepare', vote: vote3, block }); console.log('C3 ok', JSON.stringify(out.events)); } catch (e) { console.log('C3 threw', String(e)); }
  });
  it('K: invalid proposal evidence committed after view change', () => {
    const net = new Net(); net.start();
    const { primary, backups } = roles(net);
    const tx = transfer(0);
    const block: Block = { height: 1, prevHash: net.get(primary).chain.headHash, proposer: primary, txs: [{ ...tx, sig: flip(tx.sig) }], lastCommit: null, attestations: [], evidence: [] };
    const vote = sign(primary, 'pre-prepare', 1, 0, blockHash(block));
    net.offline.add(primary);
    for (const b of backups) net.deliver(primary, b, { type: 'pre-prepare', vote, block });
    net.run();
    for (const b of backups) net.fireViewTimer(b);
    net.run();
    for (const b of backups) console.log('K', net.get(b).chain.height, JSON.stringify(net.events(b).filter(e => e.type==='evidence' || e.type==='commit' || e.type==='new-view' || e.type==='dropped')), net.get(b).chain.validators.get(primary));
  });

  it('M: equivocation committed and quarantine at epoch', () => {
    const net = new Net(); net.start();
    const { primary, backups } = roles(net);
    const b = backups[0]!;
    const pp = sentOf(net.submit(primary, transfer(0, 100)), 'pre-prepare')[0]!.message;
    const blockB: Block = { ...pp.block, txs: [transfer(0, 200)] };
    const voteB = sign(primary, 'pre-prepare', 1, 0, blockHash(blockB));
    net.deliver(primary, b, pp);
    const o = net.deliver(primary, b, { type: 'pre-prepare', vote: voteB, block: blockB });
    console.log('M detect', JSON.stringify(o.events.map(e=>e.type)));
    net.run();
    for (let h = 2; h <= 9; h++) net.heartbeat();
    for (const r of net.replicas) {
      const ev = net.events(r.id).filter(e => e.type === 'evidence' || e.type === 'tier-change' || e.type === 'epoch');
      console.log('M', r.id === primary ? 'P' : 'h', r.chain.height, r.chain.committee.length, JSON.stringify(ev).slice(0, 1500));
      console.log('M trust', JSON.stringify(r.chain.validatorList().map(v => [v.id.slice(0,4), v.trust, v.tier, v.quarantinedAtEpoch])));
    }
  });
});
