// `npm run validator -- --room NAME --url http://host:port [--count K] [--fault MODE] [--collude]
// [--create]`: K headless validators in Node that join a room over real WebRTC (@roamhq/wrtc), for
// tests, benchmarks, and to fill a classroom network with bots. With --create the first bot creates
// the room's genesis; otherwise they fetch it from the peers already there and register. With
// --collude the K equivocators (or sleepers) are one cabal: more than f of them fork the chain.
// With --fault twins each bot runs a second replica with its key, as a twinned tab does.

import { runCommand, UsageError } from './cli.ts';
import { parseArgs } from 'node:util';
import { encodeCanonical, sha256Bytes, toHex } from '../src/crypto/encoding.ts';
import { generateKeyPair } from '../src/crypto/keys.ts';
import { TwinsNode, faultModes, wrapReplica, type FaultMode } from '../src/faults/index.ts';
import type { Replica } from '../src/protocol/replica.ts';
import type { ReplicaEvent } from '../src/protocol/types.ts';
import { registeredValidators } from '../src/ledger/ledger.ts';
import type { ValidatorHost } from '../src/net/validator-host.ts';
import { RoomNode } from '../src/net/room-node.ts';
import { nodeClock, nodeTransports } from './node-transports.ts';
import { createRoomGenesis } from '../src/protocol/genesis.ts';

const usage = `usage: npm run validator -- --room NAME --url http://host:port [flags]
  --room NAME          room to join (lowercase letters, digits, dashes)
  --url URL            the server that runs the relay (http://, https://, ws:// or wss://)
  --count K            how many validators to start (default 1, at most 32)
  --fault MODE         make them misbehave: ${faultModes.filter((m) => m !== 'crash').join(', ')}
                       (twins: once registered, each bot runs a second replica with its key,
                       each copy talking to half of its peers; for a crash, stop the process)
  --collude            with --fault equivocate or sleeper: the K bots collude; when one of them is
                       primary, all of them back each of its two blocks (more than f fork the chain)
  --create             the first one creates the room (a new genesis) instead of fetching it
  --until-height H     exit 0 once every bot has committed H heights (exit 1 after --timeout)
  --timeout MS         give up after this long (default: run until interrupted)
  --help`;

export interface ValidatorCliOptions {
  room: string;
  signalUrl: string;
  count: number;
  fault: FaultMode;
  /** The bots form one cabal of equivocators (only with `equivocate` or `sleeper`). */
  collude: boolean;
  create: boolean;
  untilHeight: number | null;
  timeoutMs: number | null;
}

export function parseValidatorArgs(argv: readonly string[]): ValidatorCliOptions | 'help' {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        room: { type: 'string' },
        url: { type: 'string' },
        count: { type: 'string' },
        fault: { type: 'string' },
        collude: { type: 'boolean' },
        create: { type: 'boolean' },
        'until-height': { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean' },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
  if (values.help) return 'help';
  const room = values.room;
  if (!room || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(room))
    throw new UsageError(
      `--room needs a name of lowercase letters, digits and dashes, got '${room ?? ''}'`,
    );
  if (!values.url) throw new UsageError('--url is required (the address that `npm start` printed)');
  let url: URL;
  try {
    url = new URL(values.url);
  } catch {
    throw new UsageError(`--url is not a URL: '${values.url}'`);
  }
  const scheme = { 'http:': 'ws:', 'https:': 'wss:', 'ws:': 'ws:', 'wss:': 'wss:' }[url.protocol];
  if (!scheme) throw new UsageError(`--url must be http(s) or ws(s), got '${url.protocol}'`);
  const int = (
    name: string,
    v: string | undefined,
    fallback: number | null,
    min: number,
    max: number,
  ): number | null => {
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
      throw new UsageError(`${name} must be an integer from ${min} to ${max}, got '${v}'`);
    return Number(v);
  };
  const fault = (values.fault ?? 'none') as FaultMode;
  if (!faultModes.includes(fault) || fault === 'crash') {
    throw new UsageError(
      `unknown fault '${values.fault}' for a live bot (stop the process for a crash)`,
    );
  }
  const collude = values.collude ?? false;
  if (collude && fault !== 'equivocate' && fault !== 'sleeper')
    throw new UsageError(
      `--collude needs --fault equivocate or --fault sleeper, got '${values.fault ?? 'none'}'`,
    );
  return {
    room,
    signalUrl: `${scheme}//${url.host}/signal`,
    count: int('--count', values.count, 1, 1, 32)!,
    fault,
    collude,
    create: values.create ?? false,
    untilHeight: int('--until-height', values['until-height'], null, 1, 1_000_000),
    timeoutMs: int('--timeout', values.timeout, null, 1, 86_400_000),
  };
}

/** A running bot, and its twin replica when it runs as Twins (set once it is registered). */
export interface Bot {
  readonly node: RoomNode;
  twin: Replica | null;
}

export function startBots(o: ValidatorCliOptions): Bot[] {
  const bots: Bot[] = [];
  const allKeys = Array.from({ length: o.count }, () => generateKeyPair());
  // Colluding, each bot holds every bot's key: as primary it signs their votes for both blocks.
  const cabal = o.collude ? { cabal: allKeys } : {};
  for (let i = 0; i < o.count; i++) {
    const keys = allKeys[i]!;
    const name = `Bot ${i + 1}`;
    const id = toHex(keys.publicKey);
    const genesis =
      o.create && i === 0
        ? createRoomGenesis({
            chainId: toHex(sha256Bytes(encodeCanonical(['tierbft/room/v1', o.room, id]))),
            households: 12,
            creator: { id, name },
          })
        : undefined;
    const bot = { twin: null as Replica | null };
    // Twins, as a twinned tab: once the bot is a registered validator (the creator at once, a
    // newcomer when its join commits, so at the head), a second replica with its key, caught up
    // on the first one's chain, takes half of the peers.
    let host: ValidatorHost | null = null;
    const twinOnceRegistered = () => {
      if (bot.twin || !host) return;
      if (!registeredValidators(host.replica.chain.ledger).some((v) => v.id === id)) return;
      const twin = host.newReplica();
      bot.twin = twin;
      host.setNode((replica) => new TwinsNode(replica, twin));
    };
    const node = new RoomNode({
      url: o.signalUrl,
      room: o.room,
      maxFrameBytes: 1024 * 1024,
      ...nodeTransports,
      keys,
      name,
      clock: nodeClock,
      ...(genesis ? { genesis } : {}),
      ...(o.fault === 'twins'
        ? {
            onStarted: (started: ValidatorHost) => {
              host = started;
              twinOnceRegistered();
            },
            onEvent: (event: ReplicaEvent) => {
              if (event.type === 'commit') twinOnceRegistered();
            },
          }
        : {}),
      ...(o.fault !== 'none' && o.fault !== 'twins'
        ? {
            wrap: (replica) =>
              wrapReplica(o.fault, replica, {
                keys,
                chainId: replica.chain.chainId,
                delayMs: 1_500,
                ...cabal,
                pickHalf: (ids) => new Set([...ids].filter((_, k) => k % 2 === 0)),
              }),
          }
        : {}),
    });
    bots.push(Object.assign(bot, { node }));
    node.start();
  }
  return bots;
}

function status(bots: readonly Bot[]): string {
  return bots
    .map(({ node: n, twin }) => {
      const r = n.host?.replica;
      const tier = (x: Replica) => x.chain.tierOf(n.id) ?? 'joining';
      return r
        ? `${n.id.slice(0, 8)} h${r.chain.height} ${tier(r)} peers ${n.mesh.connectedPeers().length}${twin ? ` twin h${twin.chain.height} ${tier(twin)}` : ''}`
        : `${n.id.slice(0, 8)} waiting for the genesis`;
    })
    .join(' · ');
}

async function main(options: ValidatorCliOptions): Promise<number> {
  const o = options;
  const bots = startBots(o);
  const nodes = bots.map((b) => b.node);
  process.stdout.write(
    `${o.count} validator(s) joining room '${o.room}' via ${o.signalUrl}${o.fault !== 'none' ? ` as '${o.fault}'` : ''}${o.collude ? ', colluding' : ''}\n`,
  );
  const started = performance.now();
  return new Promise<number>((resolve) => {
    const finish = (code: number) => {
      clearInterval(timer);
      process.stdout.write(`${status(bots)}\n`);
      for (const n of nodes) n.stop();
      resolve(code);
    };
    const timer = setInterval(() => {
      const heights = nodes.map((n) => n.host?.replica.chain.height ?? 0);
      if (o.untilHeight !== null && heights.every((h) => h >= o.untilHeight!)) return finish(0);
      if (o.timeoutMs !== null && performance.now() - started > o.timeoutMs) {
        process.stderr.write(`validator: gave up after ${o.timeoutMs} ms\n`);
        return finish(1);
      }
    }, 200);
    const print = setInterval(() => process.stdout.write(`${status(bots)}\n`), 5_000);
    print.unref();
    process.once('SIGINT', () => finish(0));
  });
}

runCommand('validator', usage, () => parseValidatorArgs(process.argv.slice(2)), main);
