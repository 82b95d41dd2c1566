// A tab with no peers, for tests of what one tab reports: kept apart from helpers.ts, which the
// browser tests import too (they need not load the validator).
import { MemoryStorage, TabValidator } from '../../src/net/tab-validator.ts';
import { clock } from './helpers.ts';

/** A tab with no peers, on memory storage, for a quick room of its own (blocks every 100 ms). */
export function openAlone(room: string): Promise<TabValidator> {
  return TabValidator.open({
    room,
    slot: 'a',
    storage: new MemoryStorage(),
    clock,
    transport: { send: () => false, disconnect: () => {} },
    roomConfig: { blockIntervalMs: 100 },
  });
}
