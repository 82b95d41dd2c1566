// The page: read the room from the link (or name a new one), start this tab's validator, show it.

import { mount } from 'svelte';
import './page.css';
import App from './App.svelte';
import Solo from './Solo.svelte';
import { LiveRoom, type AutomationSnapshot } from './live-room.ts';
import { randomRoomName } from '../net/names.ts';

declare global {
  interface Window {
    /** A frozen snapshot of this tab's validator, for automation (see README). */
    readonly __tierbft?: AutomationSnapshot;
  }
}

const roomPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

function roomFromLink(url: URL): string {
  const asked = url.searchParams.get('room')?.trim().toLowerCase();
  if (asked && roomPattern.test(asked)) return asked;
  const room = randomRoomName((n) => crypto.getRandomValues(new Uint32Array(1))[0]! % n);
  url.searchParams.set('room', room);
  history.replaceState(null, '', url);
  return room;
}

function startLive(): void {
  const room = roomFromLink(url);
  const interval = Number(url.searchParams.get('interval'));
  const relay = url.searchParams.get('relay');

  LiveRoom.start({
    room,
    relayUrl:
      relay ?? `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/signal`,
    forceBroadcast: url.searchParams.get('signal') === 'bc' || location.protocol === 'file:',
    roomConfig:
      Number.isInteger(interval) && interval >= 100 && interval <= 60_000
        ? { blockIntervalMs: interval }
        : {},
  }).then(
    (live) => {
      Object.defineProperty(window, '__tierbft', { get: () => live.automation() });
      mount(App, { target, props: { live } });
    },
    (error: unknown) => {
      target.textContent = `This tab could not start its validator: ${(error as Error).message}`;
      console.error(error);
    },
  );
}

// Last, once everything above is defined.
const url = new URL(location.href);
const target = document.getElementById('app')!;
const soloParam = url.searchParams.get('solo');
const lesson = url.searchParams.get('lesson');
if (soloParam !== null || lesson !== null)
  mount(Solo, { target, props: { param: soloParam || '4', lesson } });
else startLive();
