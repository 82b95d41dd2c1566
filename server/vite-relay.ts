// The signaling relay inside `vite` and `vite preview`, so development needs one command too: the
// relay shares Vite's port at /signal and every other upgrade (Vite's HMR socket) is left to Vite.
// Vite prints the addresses itself; after them this adds a QR code of the first LAN address.

import type { Server } from 'node:http';
import type { Plugin, PreviewServer, ViteDevServer } from 'vite';
import { Relay } from './relay.ts';
import { terminalQr } from './serve.ts';

export function relayPlugin(): Plugin {
  let devRelay: Relay | null = null;
  let previewRelay: Relay | null = null;
  return {
    name: 'tierbft-relay',
    configureServer(server) {
      devRelay = attachRelay(server);
    },
    configurePreviewServer(server) {
      previewRelay = attachRelay(server);
    },
    // Called once Vite has torn its server down (on close and on restart).
    async closeServer() {
      await devRelay?.close();
      devRelay = null;
    },
    async closePreviewServer() {
      await previewRelay?.close();
      previewRelay = null;
    },
  };
}

/** Null in middleware mode: there is no server of Vite's to share, so no relay either. */
function attachRelay(server: ViteDevServer | PreviewServer): Relay | null {
  if (!server.httpServer) return null;
  const relay = new Relay({ log: (line) => server.config.logger.warn(line) });
  // With HTTPS Vite's server is an Http2SecureServer with HTTP/1 allowed; WebSocket upgrades
  // arrive over HTTP/1 and it emits 'upgrade' just like http.Server.
  relay.attach(server.httpServer as Server);
  const printUrls = server.printUrls.bind(server);
  server.printUrls = () => {
    printUrls();
    void printQr(server);
  };
  return relay;
}

async function printQr(server: ViteDevServer | PreviewServer): Promise<void> {
  // Without --host there is no network URL, and Vite already says how to get one.
  const url = server.resolvedUrls?.network[0];
  if (url)
    server.config.logger.info(
      `\n  Scan to open ${url} on a phone on this network:\n${await terminalQr(url)}`,
    );
}
