// `npm start`'s server: the app and the relay on one port, index.html for room links and unknown
// paths, other upgrade paths turned away, the port released on close, a clear message for a busy
// port; the start command's input checks; and the relay inside Vite's dev server, next to HMR.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer as createViteServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RelayFrame } from '../../server/relay.ts';
import { addressBanner, lanAddresses, startAppServer } from '../../server/serve.ts';
import { relayPlugin } from '../../server/vite-relay.ts';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const indexHtml = '<!doctype html><title>playground</title>';
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'serve-test-'));
  writeFileSync(join(root, 'index.html'), indexHtml);
  writeFileSync(join(root, 'app.js'), 'console.log(1);');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Opens a socket at `url`, joins room r1, and returns the relay's answer. */
async function joinRoom(url: string): Promise<RelayFrame> {
  const ws = new WebSocket(url);
  try {
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const answer = new Promise<RelayFrame>((resolve) =>
      ws.once('message', (data) => resolve(JSON.parse(data.toString()) as RelayFrame)),
    );
    ws.send(JSON.stringify({ type: 'join', room: 'r1', peerId: 'peer-aaaaaaaa' }));
    return await answer;
  } finally {
    ws.terminate();
  }
}

/** How an upgrade at `url` ends: 'open', or the client's error message. */
function tryUpgrade(url: string, protocol?: string): Promise<string> {
  const ws = new WebSocket(url, protocol);
  return new Promise<string>((resolve) => {
    ws.once('open', () => resolve('open'));
    ws.once('error', (error) => resolve(error.message));
  }).finally(() => ws.terminate());
}

function portIsFree(port: number): Promise<boolean> {
  const probe = createNetServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

describe('startAppServer', () => {
  it('serves the app and the relay on one port, and releases it on close', async () => {
    const app = await startAppServer({ port: 0, host: '127.0.0.1', root, log: () => {} });
    const base = `http://127.0.0.1:${app.port}`;
    expect(app.port).toBeGreaterThan(0);
    for (const path of ['/', '/?room=abc', '/no/such/page']) {
      const res = await fetch(base + path);
      expect(res.status, path).toBe(200);
      expect(await res.text(), path).toBe(indexHtml);
    }
    const asset = await fetch(`${base}/app.js`);
    expect(asset.headers.get('etag')).toBeTruthy();
    expect(await asset.text()).toBe('console.log(1);');

    expect(await joinRoom(`ws://127.0.0.1:${app.port}/signal`)).toEqual({
      type: 'joined',
      room: 'r1',
      peerId: 'peer-aaaaaaaa',
      peers: [],
    });
    expect(await tryUpgrade(`ws://127.0.0.1:${app.port}/other`)).toMatch(/404/);
    expect(app.relay.stats().connections).toBeLessThanOrEqual(1);

    // A client still connected must not hold the port open.
    const lingering = new WebSocket(`ws://127.0.0.1:${app.port}/signal`);
    await new Promise((resolve) => lingering.once('open', resolve));
    await app.close();
    expect(await portIsFree(app.port)).toBe(true);
  });

  it('says which port is busy', async () => {
    const first = await startAppServer({ port: 0, host: '127.0.0.1', root });
    try {
      await expect(startAppServer({ port: first.port, host: '127.0.0.1', root })).rejects.toThrow(
        `port ${first.port} is in use; set PORT to another port`,
      );
    } finally {
      await first.close();
    }
  });
});

describe('addressBanner', () => {
  it('names localhost, every LAN address, and draws a QR code or says there is none', async () => {
    const banner = await addressBanner(5173, '/?room=abc');
    expect(banner.split('\n')[0]).toBe('Local:   http://localhost:5173/?room=abc');
    const lan = lanAddresses();
    expect(lan.every((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a))).toBe(true);
    for (const ip of lan) expect(banner).toContain(`Network: http://${ip}:5173/?room=abc`);
    if (lan.length > 0) expect(banner).toContain('▀');
    else expect(banner).toContain('only this machine can join');
  });
});

describe('npm start', () => {
  const run = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'server/start.ts', ...args], {
      cwd: projectRoot,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });

  it('rejects a bad PORT in one line, exit 2, before building anything', () => {
    const result = run([], { PORT: 'abc' });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      "start: PORT must be an integer from 0 to 65535, got 'abc' (see --help)\n",
    );
    expect(run([], { PORT: '65536' }).status).toBe(2);
  });

  it('rejects unknown arguments in one line, and explains itself on --help', () => {
    const unknown = run(['--bogus'], {});
    expect(unknown.status).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toBe("start: Unknown option '--bogus' (see --help)\n");
    const help = run(['--help'], {});
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('PORT');
  });
});

describe('npm run dev', () => {
  it('listens on PORT like npm start, and rejects a bad one in one line, exit 2', () => {
    const result = spawnSync(process.execPath, ['node_modules/vite/bin/vite.js'], {
      cwd: projectRoot,
      env: { ...process.env, PORT: '70000' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe("dev: PORT must be an integer from 0 to 65535, got '70000'\n");
  });
});

describe('relayPlugin', () => {
  it('serves /signal on the Vite dev server and leaves HMR to Vite', async () => {
    const server = await createViteServer({
      configFile: false,
      root,
      plugins: [relayPlugin()],
      server: { port: 0, host: '127.0.0.1' },
      logLevel: 'silent',
    });
    await server.listen();
    try {
      const port = (server.httpServer!.address() as { port: number }).port;
      expect(await joinRoom(`ws://127.0.0.1:${port}/signal`)).toMatchObject({ type: 'joined' });
      expect(await tryUpgrade(`ws://127.0.0.1:${port}/`, 'vite-hmr')).toBe('open');
    } finally {
      await server.close();
    }
  });
});
