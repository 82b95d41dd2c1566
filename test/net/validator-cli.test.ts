// `npm run validator`: headless bots that create or join a room over real WebRTC, and its errors.
import { spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay } from './helpers.ts';

const tsx = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
const cli = new URL('../../server/validator.ts', import.meta.url).pathname;

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

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
});
