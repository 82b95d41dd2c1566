// The tab's validator between sessions, in IndexedDB (through `idb`): its key, its room's genesis,
// the committed blocks it verified and the latest point it signed at, per room and tab slot. Runs
// in the validator worker.

import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { StoredRoom, TabStorage } from '../net/tab-validator.ts';
import type { VotePoint } from '../protocol/types.ts';

interface Schema extends DBSchema {
  validators: {
    key: string;
    value: {
      key: string;
      secretKey: Uint8Array;
      genesis: Uint8Array | null;
      /** Absent in records written before it was kept. */
      signed?: VotePoint | null;
    };
  };
  blocks: { key: [string, number]; value: { key: string; height: number; bytes: Uint8Array } };
}

export class IdbStorage implements TabStorage {
  private constructor(private readonly db: IDBPDatabase<Schema>) {}

  static async open(name = 'tierbft'): Promise<IdbStorage> {
    const db = await openDB<Schema>(name, 1, {
      upgrade(db) {
        db.createObjectStore('validators', { keyPath: 'key' });
        db.createObjectStore('blocks', { keyPath: ['key', 'height'] });
      },
    });
    return new IdbStorage(db);
  }

  async load(key: string): Promise<StoredRoom | null> {
    const v = await this.db.get('validators', key);
    if (!v) return null;
    const rows = await this.db.getAll('blocks', IDBKeyRange.bound([key, 1], [key, Infinity]));
    return {
      secretKey: v.secretKey,
      genesis: v.genesis,
      blocks: rows.map((r) => r.bytes),
      signed: v.signed ?? null,
    };
  }

  async saveIdentity(key: string, secretKey: Uint8Array): Promise<void> {
    const tx = this.db.transaction(['validators', 'blocks'], 'readwrite');
    await tx.objectStore('blocks').delete(IDBKeyRange.bound([key, 0], [key, Infinity]));
    await tx.objectStore('validators').put({ key, secretKey, genesis: null, signed: null });
    await tx.done;
  }

  async saveGenesis(key: string, genesis: Uint8Array): Promise<void> {
    const tx = this.db.transaction('validators', 'readwrite');
    const v = await tx.store.get(key);
    if (v) await tx.store.put({ ...v, genesis });
    await tx.done;
  }

  async saveSigned(key: string, point: VotePoint): Promise<void> {
    const tx = this.db.transaction('validators', 'readwrite');
    const v = await tx.store.get(key);
    if (v) await tx.store.put({ ...v, signed: point });
    await tx.done;
  }

  async saveBlocks(key: string, firstHeight: number, blocks: readonly Uint8Array[]): Promise<void> {
    const tx = this.db.transaction('blocks', 'readwrite');
    await tx.store.delete(IDBKeyRange.bound([key, firstHeight], [key, Infinity]));
    for (const [i, bytes] of blocks.entries())
      await tx.store.put({ key, height: firstHeight + i, bytes });
    await tx.done;
  }
}
