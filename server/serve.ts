// One port for everything a classroom needs: the built app (static files, with every unknown path
// answered by index.html so `/?room=x` links work) and the signaling relay at /signal. One port
// means one address to share and one firewall rule; the relay needs no second process. The banner
// prints the LAN addresses and a QR code of the first, so phones on the same network can join.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import QRCode from 'qrcode';
import sirv from 'sirv';
import { UsageError } from './cli.ts';
import { Relay, type RelayOptions } from './relay.ts';

/** The port from `PORT` (default 5173): one rule for `npm start` and `npm run dev`. */
export function portFromEnv(env: Readonly<Record<string, string | undefined>>): number {
  const port = env.PORT ?? '5173';
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65_535)
    throw new UsageError(`PORT must be an integer from 0 to 65535, got '${port}'`);
  return Number(port);
}

export interface AppServerOptions {
  /** 0 picks a free port; the real one is returned. */
  port: number;
  /** Interface to listen on (default: all of them). */
  host?: string;
  /** Directory of the built app (holds index.html). */
  root: string;
  relay?: Partial<RelayOptions>;
  /** Where the relay's reasons for dropped frames go (default: the relay's own, console.warn). */
  log?: (line: string) => void;
}

export interface AppServer {
  server: Server;
  relay: Relay;
  port: number;
  close(): Promise<void>;
}

export async function startAppServer(options: AppServerOptions): Promise<AppServer> {
  const files = sirv(options.root, { single: true, etag: true, dev: false });
  const server = createServer((req, res) => files(req, res, () => void res.writeHead(404).end()));
  const relay = new Relay({ ...(options.log ? { log: options.log } : {}), ...options.relay });
  relay.attach(server);
  // The relay leaves other upgrade paths alone; nothing else here takes them, so turn them away
  // rather than leave the socket hanging.
  server.on('upgrade', (request: IncomingMessage, socket: Duplex) => {
    if (pathOf(request) !== relay.options.path)
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  try {
    await listen(server, options.port, options.host);
  } catch (error) {
    await relay.close();
    throw error;
  }
  let closing: Promise<void> | null = null;
  return {
    server,
    relay,
    port: (server.address() as AddressInfo).port,
    close: () => (closing ??= closeBoth(server, relay)),
  };
}

function pathOf(request: IncomingMessage): string {
  return (request.url ?? '').split('?')[0]!;
}

function listen(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(error, port, host));
    server.once('error', onError);
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    if (host === undefined) server.listen(port, onListening);
    else server.listen(port, host, onListening);
  });
}

function listenError(error: NodeJS.ErrnoException, port: number, host: string | undefined): Error {
  switch (error.code) {
    case 'EADDRINUSE':
      return new Error(`port ${port} is in use; set PORT to another port`);
    case 'EACCES':
      return new Error(`not allowed to listen on port ${port}; set PORT to one above 1023`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new Error(`'${host}' is not an address of this machine; set HOST to one that is`);
    default:
      return error;
  }
}

async function closeBoth(server: Server, relay: Relay): Promise<void> {
  // The relay first: its sockets are upgraded connections, which server.close() would wait for.
  await relay.close();
  await new Promise<void>((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/** This machine's non-internal IPv4 addresses: where other devices on the LAN can reach it. */
export function lanAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);
}

/** A QR code of `url` drawn with terminal block characters. */
export async function terminalQr(url: string): Promise<string> {
  return (await QRCode.toString(url, { type: 'terminal', small: true })).trimEnd();
}

/** What `npm start` prints: where to open the app, here and from other devices. */
export async function addressBanner(port: number, path = '/'): Promise<string> {
  const lan = lanAddresses().map((ip) => `http://${ip}:${port}${path}`);
  const lines = [
    `Local:   http://localhost:${port}${path}`,
    ...lan.map((url) => `Network: ${url}`),
  ];
  if (lan[0])
    lines.push('', `Scan to open ${lan[0]} on a phone on this network:`, await terminalQr(lan[0]));
  else lines.push('No LAN address found, so only this machine can join.');
  return lines.join('\n');
}
