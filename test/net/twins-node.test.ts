// Live Twins hands over when it goes: what the twin heard of the heights the original has not
// decided reaches the original. Real replicas on a synchronous in-memory network, no clock.
import { describe, expect, it } from 'vitest';
import { SignatureVerifier } from '../../src/crypto/verify.ts';
import { TwinsNode } from '../../src/faults/index.ts';
import { createCity } from '../../src/ledger/city.ts';
import type { SignatureCheck } from '../../src/ledger/types.ts';
import { Replica } from '../../src/protocol/replica.ts';
import {
  defaultProtocolConfig,
  type Message,
  type ReplicaOutput,
  type ValidatorId,
} from '../../src/protocol/types.ts';

const chainId = 'twins-node-test';
const verifier = new SignatureVerifier();
const check: SignatureCheck = (pk, msg, sig) => verifier.check(pk, msg, sig);
const city = createCity({ seed: 3, households: 2, chainId, validators: 4 });
const genesis = {
  config: { ...defaultProtocolConfig, mode: 'mlt' as const },
  ledger: city.genesis(),
  initialTrust: {},
};

describe('live Twins switched off', () => {
  it('hands the original the proposal that went to the twin, and the original decides', () => {
    const replicas = city.validators.map((v) => new Replica({ genesis, keys: v.keys, check }));
    const list = replicas[0]!.chain.validatorList().map((v) => v.id);
    const byId = new Map(replicas.map((r) => [r.id, r]));
    // The last validator is twinned. TwinsNode.attach splits the others in list order: side 0
    // (the original's), side 1 (the twin's), side 0.
    const original = byId.get(list[3]!)!;
    const twinSide = list[1]!;
    const others = replicas.filter((r) => r !== original);
    const twin = new Replica({
      genesis,
      keys: city.validators[replicas.indexOf(original)]!.keys,
      check,
    });
    const node = new TwinsNode(original, twin);

    const queue: { from: ValidatorId; to: ValidatorId; message: Message }[] = [];
    const send = (from: ValidatorId, out: ReplicaOutput) => {
      for (const m of out.messages) queue.push({ from, to: m.to, message: m.message });
    };
    let now = 0;
    for (const r of others) send(r.id, r.handle({ type: 'start', now }));
    send(original.id, original.handle({ type: 'start', now }));
    send(original.id, node.attach(now));
    const run = () => {
      for (let steps = 0; queue.length > 0; steps++) {
        if (steps > 20_000) throw new Error('the network did not settle');
        const { from, to, message } = queue.shift()!;
        const input = { type: 'message', now: ++now, from, message } as const;
        send(to, to === original.id ? node.handle(input) : byId.get(to)!.handle(input));
      }
    };
    // Heights go by, one payment each, until the primary is on the twin's side.
    const [alice, bob] = city.households;
    let nonce = 0;
    for (;;) {
      const height = others[0]!.height;
      const primary = others[0]!.chain.primary(0);
      const tx = city.sign(alice!.id, {
        type: 'transfer',
        nonce: nonce++,
        to: bob!.id,
        asset: 'CNY',
        amount: 100,
      });
      send(primary, byId.get(primary)!.handle({ type: 'submit', now: ++now, tx }));
      run();
      for (const r of others) expect(r.chain.height, r.id).toBe(height);
      if (primary === twinSide) break;
      expect(nonce).toBeLessThan(8);
    }

    // The others decided that height; the original heard the votes of its side but not the
    // proposal, which went to the twin: it holds no block to decide.
    const decided = others[0]!.chain.height;
    expect(original.chain.height).toBe(decided - 1);

    // The twin goes: what it heard of that height goes to the original, which decides it.
    const owed = node.detach(++now);
    expect(owed.some((i) => i.type === 'message' && i.message.type === 'pre-prepare')).toBe(true);
    for (const input of owed) original.handle(input);
    expect(original.chain.height).toBe(decided);
    expect(original.blocks.at(-1)!.certificate.digest).toBe(
      others[0]!.blocks.at(-1)!.certificate.digest,
    );
    // What was handed over is not handed over again.
    expect(node.detach(++now)).toEqual([]);
  });
});
