// Shared set-up for the live-network tests: a relay on a free port, polling with a timeout whose
// failure message says what was awaited, the real clock, and an in-process wire between tabs.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Relay } from '../../server/relay.ts';
import { MemoryStorage, TabValidator } from '../../src/net/tab-validator.ts';
import type { HostClock, Transport } from '../../src/net/validator-host.ts';
import type { ProtocolConfig } from '../../src/protocol/types.ts';

export async function startRelay(): Promise<{
  httpUrl: string;
  signalUrl: string;
  stop: () => Promise<void>;
}> {
  const relay = new Relay({ log: () => {} });
  const server = createServer();
  relay.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    httpUrl: `http://127.0.0.1:${port}`,
    signalUrl: `ws://127.0.0.1:${port}/signal`,
    stop: async () => {
      await relay.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function until(
  what: string | (() => string),
  condition: () => boolean,
  timeoutMs = 30_000,
): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const clock: HostClock = {
  now: () => performance.now(),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** Links between peers; bytes arrive on a later turn, in order, like a data channel. */
export class Wire {
  private readonly nodes = new Map<string, TabValidator>();
  private readonly links = new Set<string>();

  private static key(a: string, b: string): string {
    return a < b ? `${a}|${b}` : `${b}|${a}`;
  }

  transport(self: string): Transport {
    return {
      send: (peer, bytes) => {
        if (!this.links.has(Wire.key(self, peer))) return false;
        const copy = bytes.slice();
        setTimeout(() => {
          if (this.links.has(Wire.key(self, peer))) this.nodes.get(peer)?.peerData(self, copy);
        }, 0);
        return true;
      },
      disconnect: (peer) => this.cut(self, peer),
    };
  }

  attach(peerId: string, tab: TabValidator): void {
    this.nodes.set(peerId, tab);
  }

  connect(a: string, b: string): void {
    this.links.add(Wire.key(a, b));
    this.nodes.get(a)!.peerOpened(b);
    this.nodes.get(b)!.peerOpened(a);
  }

  cut(a: string, b: string): void {
    if (!this.links.delete(Wire.key(a, b))) return;
    const [na, nb] = [this.nodes.get(a), this.nodes.get(b)];
    setTimeout(() => {
      na?.peerClosed(b);
      nb?.peerClosed(a);
    }, 0);
  }

  /**
   * The tab behind `peerId` goes away: the signaling service tells the others whether it left on
   * purpose (a closed or reloaded page says so; a crashed one does not), then every link closes.
   */
  remove(peerId: string, { deliberate }: { deliberate: boolean }): void {
    this.nodes.delete(peerId);
    for (const other of this.nodes.keys()) {
      if (deliberate) this.nodes.get(other)!.peerLeftRoom(peerId);
      this.cut(peerId, other);
    }
  }

  peers(): string[] {
    return [...this.nodes.keys()];
  }

  /**
   * Opens a tab's validator as `peerId` (its storage a fresh memory unless given), starts it and
   * connects it to every tab already here, as the mesh does when a tab joins the room.
   */
  async open(options: {
    readonly room: string;
    readonly slot: string;
    readonly peerId: string;
    readonly roomConfig: Partial<ProtocolConfig>;
    readonly storage?: MemoryStorage;
  }): Promise<TabValidator> {
    const { room, slot, peerId, roomConfig } = options;
    const tab = await TabValidator.open({
      room,
      slot,
      storage: options.storage ?? new MemoryStorage(),
      clock,
      transport: this.transport(peerId),
      roomConfig,
    });
    this.attach(peerId, tab);
    tab.start(peerId);
    for (const other of this.peers()) if (other !== peerId) this.connect(peerId, other);
    return tab;
  }
}

/**
 * A quick room whose creator stays its only Core validator: newcomers climb by attesting but
 * never reach `candidateEnter`/`coreEnter` (trust only approaches 1000). With the default
 * `minCore` (4) every newcomer would be topped up into the committee, and a committee of 2 or 3
 * commits nothing while one of its tabs is away (not even that tab's leave).
 */
export const oneCoreRoom: Partial<ProtocolConfig> = {
  blockIntervalMs: 100,
  viewTimeoutMs: 1_000,
  epochLength: 4,
  syncTimeoutMs: 300,
  minCore: 1,
  genesisTrust: 1_000,
  coreEnter: 1_000,
  candidateEnter: 1_000,
};
