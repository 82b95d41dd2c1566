// The signaling relay over real WebSockets: rooms, addressed signals, leaving, the room cap,
// and bad input (dropped with a reason; the connection and everyone else carry on).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { parseClientFrame, Relay, type RelayFrame, type RelayOptions } from '../../server/relay.ts';

interface Client {
  ws: WebSocket;
  frames: RelayFrame[];
  next(type?: RelayFrame['type']): Promise<RelayFrame>;
  send(frame: unknown): void;
}

let server: Server | null = null;
let relay: Relay | null = null;
const clients: WebSocket[] = [];
const logged: string[] = [];

async function start(options: Partial<RelayOptions> = {}): Promise<string> {
  relay = new Relay({ log: (line) => logged.push(line), ...options });
  server = createServer((_, res) => res.writeHead(404).end());
  relay.attach(server);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `ws://127.0.0.1:${(server!.address() as AddressInfo).port}/signal`;
}

async function connect(url: string): Promise<Client> {
  const ws = new WebSocket(url);
  clients.push(ws);
  const frames: RelayFrame[] = [];
  const waiters: { type: RelayFrame['type'] | undefined; resolve: (f: RelayFrame) => void }[] = [];
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as RelayFrame;
    const i = waiters.findIndex((w) => w.type === undefined || w.type === frame.type);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(frame);
    else frames.push(frame);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return {
    ws,
    frames,
    next(type) {
      const i = frames.findIndex((f) => type === undefined || f.type === type);
      if (i >= 0) return Promise.resolve(frames.splice(i, 1)[0]!);
      return new Promise((resolve, reject) => {
        waiters.push({ type, resolve });
        setTimeout(() => reject(new Error(`no ${type ?? 'frame'} within 2 s`)), 2_000);
      });
    },
    send(frame) {
      ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
    },
  };
}

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await relay?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = null;
  relay = null;
  logged.length = 0;
});

const id = (n: number) => `peer-${String(n).padStart(4, '0')}`;

describe('rooms', () => {
  it('a joining peer learns who is there, and the others learn of it', async () => {
    const url = await start();
    const a = await connect(url);
    a.send({ type: 'join', room: 'class-1', peerId: id(1) });
    expect(await a.next('joined')).toEqual({
      type: 'joined',
      room: 'class-1',
      peerId: id(1),
      peers: [],
    });
    const b = await connect(url);
    b.send({ type: 'join', room: 'class-1', peerId: id(2) });
    expect(await b.next('joined')).toMatchObject({ peers: [id(1)] });
    expect(await a.next('peer-joined')).toEqual({ type: 'peer-joined', peerId: id(2) });
  });

  it('passes a signal only to the peer it is addressed to, with the sender named', async () => {
    const url = await start();
    const [a, b, c] = [await connect(url), await connect(url), await connect(url)];
    for (const [client, n] of [
      [a, 1],
      [b, 2],
      [c, 3],
    ] as const) {
      client.send({ type: 'join', room: 'r1', peerId: id(n) });
      await client.next('joined');
    }
    a.send({ type: 'signal', to: id(2), data: { sdp: 'offer' } });
    expect(await b.next('signal')).toEqual({ type: 'signal', from: id(1), data: { sdp: 'offer' } });
    await new Promise((r) => setTimeout(r, 50));
    expect(c.frames.filter((f) => f.type === 'signal')).toEqual([]);
  });

  it('keeps rooms apart', async () => {
    const url = await start();
    const a = await connect(url);
    const b = await connect(url);
    a.send({ type: 'join', room: 'room-a', peerId: id(1) });
    b.send({ type: 'join', room: 'room-b', peerId: id(2) });
    await a.next('joined');
    expect(await b.next('joined')).toMatchObject({ peers: [] });
    a.send({ type: 'signal', to: id(2), data: 'x' });
    expect(await a.next('error')).toEqual({ type: 'error', reason: 'no such peer in the room' });
  });

  it('tells the others when a peer leaves or its connection closes', async () => {
    const url = await start();
    const [a, b, c] = [await connect(url), await connect(url), await connect(url)];
    for (const [client, n] of [
      [a, 1],
      [b, 2],
      [c, 3],
    ] as const) {
      client.send({ type: 'join', room: 'r1', peerId: id(n) });
      await client.next('joined');
    }
    b.send({ type: 'leave' });
    expect(await a.next('peer-left')).toEqual({ type: 'peer-left', peerId: id(2), reason: 'left' });
    // A connection that breaks (no closing handshake) did not say it leaves.
    c.ws.terminate();
    expect(await a.next('peer-left')).toEqual({
      type: 'peer-left',
      peerId: id(3),
      reason: 'disconnected',
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(relay!.stats().connections).toBe(2);
  });

  it('turns away a peer beyond the room cap, and takes it once someone leaves', async () => {
    const url = await start({ maxPeersPerRoom: 3 });
    const members: Client[] = [];
    for (let n = 1; n <= 3; n++) {
      const m = await connect(url);
      m.send({ type: 'join', room: 'small', peerId: id(n) });
      await m.next('joined');
      members.push(m);
    }
    const late = await connect(url);
    late.send({ type: 'join', room: 'small', peerId: id(4) });
    expect(await late.next('error')).toEqual({ type: 'error', reason: 'room full' });
    members[0]!.send({ type: 'leave' });
    await members[1]!.next('peer-left');
    late.send({ type: 'join', room: 'small', peerId: id(4) });
    expect(await late.next('joined')).toMatchObject({ peers: [id(2), id(3)] });
  });

  it('has a default cap of 64 peers per room', () => {
    expect(new Relay().options.maxPeersPerRoom).toBe(64);
  });
});

describe('bad input', () => {
  const malformed: [string, string][] = [
    ['not json', 'not JSON'],
    ['[1,2]', 'not an object'],
    ['{"type":"dance"}', 'unknown frame type'],
    ['{"type":"join","room":"UPPER","peerId":"peer-0001"}', 'bad room name'],
    ['{"type":"join","room":"ok","peerId":"x"}', 'bad peer id'],
    [
      '{"type":"join","room":"ok","peerId":"peer-0001","extra":1}',
      'join takes exactly room and peerId',
    ],
    ['{"type":"signal","to":"peer-0002"}', 'signal takes exactly to and data'],
  ];
  for (const [text, reason] of malformed) {
    it(`drops ${text} with the reason "${reason}" and keeps the connection`, async () => {
      const url = await start();
      const a = await connect(url);
      a.send(text);
      expect(await a.next('error')).toEqual({ type: 'error', reason });
      expect(relay!.stats().dropped[reason]).toBe(1);
      expect(logged.some((line) => line.includes(reason))).toBe(true);
      a.send({ type: 'join', room: 'still-works', peerId: id(1) });
      expect(await a.next('joined')).toMatchObject({ room: 'still-works' });
    });
  }

  it('drops oversized and binary frames', async () => {
    const url = await start({ maxFrameBytes: 1_024 });
    const a = await connect(url);
    a.send({ type: 'signal', to: id(2), data: 'x'.repeat(1_500) });
    expect(await a.next('error')).toEqual({ type: 'error', reason: 'frame too large' });
    a.ws.send(new Uint8Array([1, 2, 3]));
    expect(await a.next('error')).toEqual({ type: 'error', reason: 'binary frame' });
  });

  it('drops a signal sent before joining', async () => {
    const url = await start();
    const a = await connect(url);
    a.send({ type: 'signal', to: id(2), data: {} });
    expect(await a.next('error')).toEqual({ type: 'error', reason: 'signal before join' });
  });

  it('limits the frame rate per connection without disturbing other peers', async () => {
    let now = 0;
    const url = await start({ maxFramesPerSecond: 10, burstFrames: 5, nowMs: () => now });
    const noisy = await connect(url);
    const quiet = await connect(url);
    noisy.send({ type: 'join', room: 'r', peerId: id(1) });
    quiet.send({ type: 'join', room: 'r', peerId: id(2) });
    await noisy.next('joined');
    await quiet.next('joined');
    for (let i = 0; i < 20; i++) noisy.send({ type: 'signal', to: id(2), data: i });
    await new Promise((r) => setTimeout(r, 200));
    // One token went to the join; four signals pass, the other sixteen are dropped.
    expect(quiet.frames.filter((f) => f.type === 'signal')).toHaveLength(4);
    expect(relay!.stats().dropped['rate limit']).toBe(16);
    quiet.frames.length = 0;
    now += 1_000; // a second later the bucket has refilled
    noisy.send({ type: 'signal', to: id(2), data: 'later' });
    expect(await quiet.next('signal')).toMatchObject({ data: 'later' });
    quiet.send({ type: 'signal', to: id(1), data: 'hi' });
    expect(await noisy.next('signal')).toMatchObject({ data: 'hi' });
  });

  it('parseClientFrame never throws', () => {
    for (const text of [
      '',
      'null',
      '"s"',
      '{"type":null}',
      '{"__proto__":{"type":"join"}}',
      '\u0000',
    ]) {
      expect(parseClientFrame(text).ok).toBe(false);
    }
  });
});
