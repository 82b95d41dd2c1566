// The validator host's boundary: whatever a peer sends, the host never throws; malformed frames,
// messages before a proven identity and forged hellos disconnect that peer and nobody else.
import { describe, expect, it } from 'vitest';
import { decodeCanonical, encodeCanonical } from '../../src/crypto/encoding.ts';
import { sign } from '../../src/crypto/keys.ts';
import { createCity } from '../../src/ledger/city.ts';
import { encodeCertificate, encodeMessage } from '../../src/protocol/codec.ts';
import { ValidatorHost, type Transport } from '../../src/net/validator-host.ts';
import { defaultProtocolConfig, type CommitCertificate } from '../../src/protocol/types.ts';

function setUp() {
  const city = createCity({ seed: 9, households: 3, chainId: 'host-test', validators: 4 });
  const genesis = { config: defaultProtocolConfig, ledger: city.genesis(), initialTrust: {} };
  const disconnected: [string, string][] = [];
  const sent: [string, Uint8Array][] = [];
  const transport: Transport = {
    send: (peer, bytes) => (sent.push([peer, bytes]), true),
    disconnect: (peer, reason) => disconnected.push([peer, reason]),
  };
  const timers: unknown[] = [];
  const heads: [string, CommitCertificate][] = [];
  const host = new ValidatorHost({
    genesis,
    onPeerHead: (peer, certificate) => heads.push([peer, certificate]),
    keys: city.validators[0]!.keys,
    room: 'host-test',
    peerId: 'me-000000',
    clock: {
      now: () => 0,
      setTimeout: (f) => (timers.push(f), timers.length),
      clearTimeout: () => {},
    },
  });
  host.start(transport);
  return { city, host, disconnected, sent, heads };
}

function hello(
  city: ReturnType<typeof createCity>,
  i: number,
  fromPeer: string,
  toPeer = 'me-000000',
  room = 'host-test',
) {
  const v = city.validators[i]!;
  const sig = sign(
    v.keys.secretKey,
    encodeCanonical(['tierbft/hello/v1', room, fromPeer, toPeer, v.id]),
  );
  return encodeCanonical({ t: 'hello', validator: v.id, sig });
}

describe('the validator host', () => {
  const garbage: [string, Uint8Array][] = [
    ['random bytes', new Uint8Array([0xff, 0x00, 0x13, 0x37])],
    ['an empty frame', new Uint8Array()],
    ['a CBOR number', encodeCanonical(5)],
    ['an unknown frame type', encodeCanonical({ t: 'dance' })],
    ['a msg with extra fields', encodeCanonical({ t: 'msg', m: new Uint8Array([1]), x: 1 })],
  ];
  for (const [what, bytes] of garbage) {
    it(`disconnects a peer that sends ${what}, and only that peer`, () => {
      const { host, disconnected } = setUp();
      expect(() => host.receive('bad-peer-01', bytes)).not.toThrow();
      expect(disconnected).toHaveLength(1);
      expect(disconnected[0]![0]).toBe('bad-peer-01');
      expect(host.stats.malformed).toBe(1);
    });
  }

  it('disconnects a peer whose message comes before its hello', () => {
    const { host, disconnected } = setUp();
    host.receive(
      'peer-0001',
      encodeCanonical({
        t: 'msg',
        m: encodeMessage({ type: 'block-request', fromHeight: 1, toHeight: 2 }),
      }),
    );
    expect(disconnected.map(([p, r]) => [p, r])).toEqual([
      ['peer-0001', 'malformed frame: message before hello'],
    ]);
  });

  it("takes a proven peer's head certificate, and disconnects a peer whose head is malformed or comes before its hello", () => {
    const { city, host, disconnected, heads } = setUp();
    const certificate: CommitCertificate = {
      height: 3,
      view: 0,
      digest: 'ab'.repeat(32),
      signatures: [{ signer: city.validators[1]!.id, kind: 'commit', sig: new Uint8Array(64) }],
    };
    const head = encodeCanonical({ t: 'head', c: encodeCertificate(certificate) });
    host.receive('peer-0003', head);
    host.receive('peer-0001', hello(city, 1, 'peer-0001'));
    host.receive('peer-0001', head);
    host.receive('peer-0002', hello(city, 2, 'peer-0002'));
    host.receive('peer-0002', encodeCanonical({ t: 'head', c: new Uint8Array([1, 2, 3]) }));
    expect(heads).toEqual([[city.validators[1]!.id, certificate]]);
    expect(disconnected.map(([p]) => p)).toEqual(['peer-0003', 'peer-0002']);
  });

  it('rejects a hello signed for another peer or another room (no replay)', () => {
    const { city, host, disconnected } = setUp();
    host.receive('peer-0001', hello(city, 1, 'peer-0001', 'someone-else'));
    host.receive('peer-0002', hello(city, 2, 'peer-0002', 'me-000000', 'other-room'));
    expect(disconnected.map(([p]) => p)).toEqual(['peer-0001', 'peer-0002']);
    expect(host.knownValidators()).toEqual([]);
  });

  it('accepts a proven peer and hands its messages to the replica', async () => {
    const { city, host, disconnected, sent } = setUp();
    host.receive('peer-0001', hello(city, 1, 'peer-0001'));
    expect(host.knownValidators()).toEqual([city.validators[1]!.id]);
    host.receive(
      'peer-0001',
      encodeCanonical({
        t: 'msg',
        m: encodeMessage({ type: 'block-request', fromHeight: 1, toHeight: 2 }),
      }),
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(disconnected).toEqual([]);
    expect(host.stats.framesIn).toBe(2);
    void sent;
  });
});

describe('what the host signed is saved before it goes out', () => {
  it('a proposal waits until its (height, view) is saved', async () => {
    const city = createCity({ seed: 9, households: 3, chainId: 'host-test', validators: 4 });
    const genesis = { config: defaultProtocolConfig, ledger: city.genesis(), initialTrust: {} };
    // The host runs the primary of (1, 0), so a payment makes it propose at once.
    const probe = new ValidatorHost({
      genesis,
      keys: city.validators[0]!.keys,
      room: 'host-test',
      peerId: 'me-000000',
      clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} },
    });
    const primary = probe.replica.chain.primary(0);
    const i = city.validators.findIndex((v) => v.id === primary);
    const peer = (i + 1) % 4;
    const sent: string[] = [];
    const saves: { height: number; view: number }[] = [];
    let release: () => void = () => {};
    const host = new ValidatorHost({
      genesis,
      keys: city.validators[i]!.keys,
      room: 'host-test',
      peerId: 'me-000000',
      clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} },
      signed: {
        upTo: null,
        save: (point) => {
          saves.push(point);
          return new Promise<void>((r) => (release = r));
        },
      },
    });
    host.start({
      send: (_peer, bytes) => {
        const frame = decodeCanonical(bytes);
        if (frame.ok) sent.push(String((frame.value as { t: string }).t));
        return true;
      },
      disconnect: () => {},
    });
    host.peerOpened('peer-0001');
    host.receive('peer-0001', hello(city, peer, 'peer-0001'));
    await host.idle();
    const household = city.households[0]!;
    const tx = city.sign(household.id, {
      type: 'transfer',
      nonce: 0,
      to: city.households[1]!.id,
      asset: 'CNY',
      amount: 100,
    });
    host.submit(tx);
    await new Promise((r) => setTimeout(r, 50));
    // The transaction went out; the pre-prepare waits for the save.
    expect(saves).toEqual([{ height: 1, view: 0 }]);
    expect(sent.filter((t) => t === 'msg')).toHaveLength(1);
    release();
    await host.idle();
    expect(sent.filter((t) => t === 'msg')).toHaveLength(2);
    expect(host.replica.chain.height).toBe(0);
  });
});
