// `npm run validator`: headless bots that create or join a room over real WebRTC, and its errors;
// a bot run as Twins (two replicas with one key) next to honest validators in this process.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeClock as clock, nodeTransports } from '../../server/node-transports.ts';
import { encodeCanonical, sha256Bytes, toHex } from '../../src/crypto/encoding.ts';
import { generateKeyPair } from '../../src/crypto/keys.ts';
import { Mesh } from '../../src/net/mesh.ts';
import { validatorName } from '../../src/net/names.ts';
import { RoomNode } from '../../src/net/room-node.ts';
import { MemoryStorage, TabValidator } from '../../src/net/tab-validator.ts';
import type { ValidatorHost } from '../../src/net/validator-host.ts';
import { createRoomGenesis } from '../../src/protocol/genesis.ts';
import { startRelay, until } from './helpers.ts';

const tsx = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
const cli = new URL('../../server/validator.ts', import.meta.url).pathname;

const stops: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

/** The CLI with `args`, stopped (SIGINT) after the test; `output()` explains a failure. */
function bots(args: readonly string[]): {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
} {
  const child = spawn(tsx, [cli, ...args]);
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
  stops.push(async () => {
    if (child.exitCode === null) child.kill('SIGINT');
    await exit;
  });
  return { child, output: () => output, exit };
}

/** An honest browser tab's validator in this process, on a real WebRTC mesh. */
async function openTab(relay: { signalUrl: string }, room: string): Promise<TabValidator> {
  const peerId = `tab-${toHex(generateKeyPair().publicKey).slice(0, 12)}`;
  let tab: TabValidator | null = null;
  const mesh = new Mesh(
    { url: relay.signalUrl, room, peerId, maxFrameBytes: 1024 * 1024, ...nodeTransports },
    {
      open: (peer) => tab?.peerOpened(peer),
      data: (peer, bytes) => tab?.peerData(peer, bytes),
      close: (peer) => tab?.peerClosed(peer),
      refused: () => {},
    },
  );
  tab = await TabValidator.open({
    room,
    slot: peerId,
    storage: new MemoryStorage(),
    clock,
    transport: mesh,
  });
  const t = tab;
  t.start(peerId);
  mesh.start();
  stops.push(() => {
    t.stop();
    mesh.stop();
  });
  return t;
}

const height = (h: ValidatorHost) => h.replica.chain.height;
const blockAt = (h: ValidatorHost, n: number) => h.replica.blocks[n - 1];

describe('npm run validator', () => {
  it('starts three bots that create a room, fetch its genesis, join, and commit heights', async () => {
    const relay = await startRelay();
    stops.push(relay.stop);
    const url = relay.httpUrl;
    const child = spawn(tsx, [
      cli,
      '--room',
      'bots',
      '--url',
      url,
      '--count',
      '3',
      '--create',
      '--until-height',
      '4',
      '--timeout',
      '45000',
    ]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, `${out}\n${err}`).toBe(0);
    expect(out).toMatch(/3 validator\(s\) joining room 'bots'/);
    const last = out.trim().split('\n').at(-1)!;
    expect(last.split(' · ')).toHaveLength(3);
    for (const part of last.split(' · '))
      expect(part).toMatch(/ h\d+ (core|candidate|observer) peers 2$/);
  }, 60_000);

  for (const [args, message] of [
    [['--url', 'http://127.0.0.1:1'], /--room needs a name/],
    [['--room', 'Bad Room', '--url', 'http://x'], /--room needs a name/],
    [['--room', 'ok'], /--url is required/],
    [['--room', 'ok', '--url', 'ftp://x'], /must be http\(s\) or ws\(s\)/],
    [
      ['--room', 'ok', '--url', 'http://x', '--count', '0'],
      /--count must be an integer from 1 to 32/,
    ],
    [['--room', 'ok', '--url', 'http://x', '--fault', 'nope'], /unknown fault 'nope'/],
    [
      ['--room', 'ok', '--url', 'http://x', '--fault', 'crash'],
      /unknown fault 'crash' for a live bot \(stop the process for a crash\)/,
    ],
    [
      ['--room', 'ok', '--url', 'http://x', '--fault', 'twins', '--collude'],
      /--collude needs --fault equivocate or --fault sleeper, got 'twins'/,
    ],
    [['--room', 'ok', '--url', 'http://x', '--collude'], /--collude needs --fault equivocate/],
    [
      ['--room', 'ok', '--url', 'http://x', '--fault', 'silent', '--collude'],
      /--collude needs --fault equivocate or --fault sleeper, got 'silent'/,
    ],
    [['--room', 'ok', '--url', 'http://x', '--collude=yes'], /--collude/],
    [['--bogus'], /Unknown option/],
  ] as const) {
    it(`rejects ${args.join(' ')} with one line and exit code 2`, () => {
      const r = spawnSync(tsx, [cli, ...args], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    });
  }

  it('lists twins and not crash among the modes of --help', () => {
    const r = spawnSync(tsx, [cli, '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    const modes = /--fault MODE +make them misbehave: ([a-z, -]+)/.exec(r.stdout)?.[1]?.split(', ');
    expect(modes).toContain('twins');
    expect(modes).toContain('equivocate');
    expect(modes).not.toContain('crash');
  });
});

describe('npm run validator --fault twins', () => {
  it('a twinned bot that founds a room is two primaries with one key: two tabs fork and see the proof', async () => {
    const relay = await startRelay();
    stops.push(relay.stop);
    const room = 'twins-fork';
    const bot = bots(['--room', room, '--url', relay.httpUrl, '--create', '--fault', 'twins']);
    // The bot is the room's only Core validator (f = 0). Its copies split the tabs between them:
    // each tab registers with, and then follows, the copy it talks to.
    const a = await openTab(relay, room);
    const b = await openTab(relay, room);
    await until(
      () => `both tabs running and linked (${bot.output()})`,
      () => [a, b].every((t) => t.host !== null && t.host.knownValidators().length === 2),
      30_000,
    );
    const [ha, hb] = [a.host!, b.host!];
    const botId = ha.knownValidators().find((id) => id !== b.id)!;
    expect(hb.knownValidators()).toContain(botId);
    // The two tabs hold different blocks at one height, both certified with the bot's key: one
    // key signed two chains, so two replicas ran it.
    let forkAt = 0;
    await until(
      () => `the tabs to fork (A at ${height(ha)}, B at ${height(hb)}): ${bot.output()}`,
      () => {
        const common = Math.min(height(ha), height(hb));
        for (let n = 1; n <= common && forkAt === 0; n++)
          if (blockAt(ha, n)!.certificate.digest !== blockAt(hb, n)!.certificate.digest) forkAt = n;
        return forkAt > 0;
      },
      30_000,
    );
    for (const host of [ha, hb])
      expect(blockAt(host, forkAt)!.certificate.signatures.map((s) => s.signer)).toContain(botId);
    // A tab sees the conflicting certified head of the other side (heads go to every peer):
    // its safety line turns red with the proof, and the bot is the one that signed both.
    await until(
      'a fork proof in tab A or B',
      () => [a, b].some((t) => t.snapshot().forkProof !== null),
      15_000,
    );
    const proof = [a, b].map((t) => t.snapshot().forkProof).find((p) => p !== null)!;
    expect(proof.branches).toHaveLength(2);
    expect(proof.branches[0]!.digest).not.toBe(proof.branches[1]!.digest);
    expect(proof.doubleSigners).toEqual([validatorName(botId)]);
  }, 60_000);

  it('a twinned bot joining a room of three honest validators runs both copies, and the room stays in agreement', async () => {
    const relay = await startRelay();
    stops.push(relay.stop);
    const room = 'twins-honest';
    const keys = [0, 1, 2].map((k) =>
      generateKeyPair(sha256Bytes(encodeCanonical(['twins-honest', k]))),
    );
    const creator = toHex(keys[0]!.publicKey);
    const genesis = createRoomGenesis({
      chainId: toHex(sha256Bytes(encodeCanonical(['tierbft/room/v1', room, creator]))),
      households: 4,
      creator: { id: creator, name: 'Honest 1' },
      config: { blockIntervalMs: 300, viewTimeoutMs: 1_500, syncTimeoutMs: 300 },
    });
    const honest = keys.map((k, i) => {
      const node = new RoomNode({
        url: relay.signalUrl,
        room,
        maxFrameBytes: 1024 * 1024,
        ...nodeTransports,
        keys: k,
        name: `Honest ${i + 1}`,
        clock,
        ...(i === 0 ? { genesis } : {}),
      });
      node.start();
      stops.push(() => node.stop());
      return node;
    });
    const hosts = () => honest.map((n) => n.host).filter((h) => h !== null);
    await until(
      'the three honest validators registered',
      () =>
        hosts().length === 3 && hosts().every((h) => h.replica.chain.validatorList().length === 3),
      30_000,
    );
    const start = Math.max(...hosts().map(height));
    const bot = bots(['--room', room, '--url', relay.httpUrl, '--fault', 'twins']);
    // It fetches the genesis, catches up and registers (a fourth validator in the registry).
    const registry = () => hosts()[0]!.replica.chain.ledger.validators;
    await until(
      () => `the bot registered: ${bot.output()}`,
      () => registry().size === 4,
      30_000,
    );
    const entry = [...registry().values()].find(
      (v) => !keys.some((k) => toHex(k.publicKey) === v.id),
    )!;
    expect(entry.joinedHeight).toBeGreaterThan(start);
    // Its twin starts from its chain then (the join committed) and commits on its own, on the
    // links to the honest validators of its half: a status line (every 5 s) shows it past there.
    const twinHeights = () =>
      [
        ...bot
          .output()
          .matchAll(/^([0-9a-f]{8}) h(\d+) \w+ peers \d+ twin h(\d+) (core|candidate|observer)$/gm),
      ]
        .filter((m) => entry.id.startsWith(m[1]!))
        .map((m) => Number(m[3]));
    await until(
      () => `the twin past height ${entry.joinedHeight + 2}: ${bot.output()}`,
      () => twinHeights().some((h) => h > entry.joinedHeight + 2),
      30_000,
    );
    bot.child.kill('SIGINT');
    expect(await bot.exit, bot.output()).toBe(0);
    // One validator of four is within f = 1: the honest ones agree at every height they share,
    // and went on committing past the twin.
    const common = Math.min(...hosts().map(height));
    expect(common).toBeGreaterThan(entry.joinedHeight + 2);
    for (let n = 1; n <= common; n++)
      expect(new Set(hosts().map((h) => blockAt(h, n)!.certificate.digest)).size).toBe(1);
  }, 60_000);
});
