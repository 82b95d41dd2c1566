// Shared set-up for the live-network tests: a relay on a free port, and polling with a timeout
// whose failure message says what was awaited.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Relay } from '../../server/relay.ts';

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
