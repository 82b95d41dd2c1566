// A room's genesis as it travels between tabs: encoded canonically, decoded defensively (a peer
// could send anything), and identified by its hash, which every block chain of the room starts
// from. Also the genesis a first tab creates for a new room.

import {
  decodeCanonical,
  encodeCanonical,
  isHex,
  sha256Bytes,
  toHex,
  utf8Bytes,
  type Canonical,
} from '../crypto/encoding.ts';
import { createCity, type City } from '../ledger/city.ts';
import { createLedger } from '../ledger/ledger.ts';
import type { LedgerGenesis } from '../ledger/types.ts';
import { genesisHashOf } from './chain.ts';
import { defaultProtocolConfig, type Genesis, type ProtocolConfig } from './types.ts';

export function genesisToCanonical(genesis: Genesis): Canonical {
  return {
    config: genesis.config as unknown as Canonical,
    ledger: genesis.ledger as unknown as Canonical,
    initialTrust: genesis.initialTrust,
  };
}

export function encodeGenesis(genesis: Genesis): Uint8Array {
  return encodeCanonical(genesisToCanonical(genesis));
}

type Result = { ok: true; genesis: Genesis; hash: string } | { ok: false; reason: string };

/** Bounds for each numeric protocol setting (a peer must not be able to set absurd ones). */
const configBounds: Record<Exclude<keyof ProtocolConfig, 'mode'>, readonly [number, number]> = {
  epochLength: [1, 10_000],
  maxCore: [1, 1_000],
  minCore: [1, 1_000],
  maxCandidates: [0, 10_000],
  coreEnter: [0, 1_000],
  coreKeep: [0, 1_000],
  candidateEnter: [0, 1_000],
  candidateKeep: [0, 1_000],
  trustMemory: [0, 1_000],
  genesisTrust: [0, 1_000],
  newcomerTrust: [0, 1_000],
  timeoutPenalty: [0, 1_000],
  quarantineEpochs: [0, 10_000],
  highValue: [1, 1_000_000_000_000_000],
  blockIntervalMs: [10, 3_600_000],
  viewTimeoutMs: [10, 3_600_000],
  syncTimeoutMs: [10, 3_600_000],
  maxTxPerBlock: [1, 2_048],
  maxAttestationsPerBlock: [0, 256],
  maxEvidencePerBlock: [0, 64],
  maxMempool: [1, 1_000_000],
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Decodes and checks a genesis that came from a peer. Never throws. */
export function decodeGenesis(bytes: Uint8Array): Result {
  const decoded = decodeCanonical(bytes);
  if (!decoded.ok) return decoded;
  const v = decoded.value;
  if (!isRecord(v) || Object.keys(v).sort().join(',') !== 'config,initialTrust,ledger')
    return { ok: false, reason: 'genesis must have exactly config, ledger, initialTrust' };
  const { config, ledger, initialTrust } = v;
  if (!isRecord(config)) return { ok: false, reason: 'config is not a map' };
  const expected = ['mode', ...Object.keys(configBounds)].sort().join(',');
  if (Object.keys(config).sort().join(',') !== expected)
    return { ok: false, reason: 'config fields do not match' };
  if (config.mode !== 'mlt' && config.mode !== 'pbft')
    return { ok: false, reason: 'config.mode must be mlt or pbft' };
  for (const [key, [min, max]] of Object.entries(configBounds)) {
    const n = config[key];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max)
      return { ok: false, reason: `config.${key} must be an integer from ${min} to ${max}` };
  }
  if (!isRecord(initialTrust)) return { ok: false, reason: 'initialTrust is not a map' };
  for (const [id, t] of Object.entries(initialTrust)) {
    if (!isHex(id, 32) || typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > 1_000)
      return { ok: false, reason: 'initialTrust entries must map validator ids to 0–1000' };
  }
  if (!isRecord(ledger)) return { ok: false, reason: 'ledger is not a map' };
  try {
    // createLedger checks every account, balance, issuer and validator, and throws on the first fault.
    createLedger(ledger as unknown as LedgerGenesis);
  } catch (error) {
    return { ok: false, reason: `ledger: ${(error as Error).message}` };
  }
  const genesis: Genesis = {
    config: config as unknown as ProtocolConfig,
    ledger: ledger as unknown as LedgerGenesis,
    initialTrust: initialTrust as Record<string, number>,
  };
  return { ok: true, genesis, hash: genesisHashOf(genesis) };
}

export interface RoomGenesisOptions {
  /** The room's chain id (for example a hash of the room name and the creator's key). */
  readonly chainId: string;
  /**
   * Seed of the room's city: its households and providers, whose keys any tab can derive.
   * Default: derived from the chain id (`roomCitySeed`), so a tab that fetched the genesis can
   * rebuild the city and drive its traffic.
   */
  readonly citySeed?: number;
  readonly households: number;
  /** The creator: the first validator, alone in the first committee. */
  readonly creator: { readonly id: string; readonly name: string };
  readonly config?: Partial<ProtocolConfig>;
}

/** The genesis a first tab (or headless validator) creates for a new room. */
export function createRoomGenesis(options: RoomGenesisOptions): Genesis {
  const city = createCity({
    seed: options.citySeed ?? roomCitySeed(options.chainId),
    households: options.households,
    chainId: options.chainId,
    validators: 1,
  });
  const ledger = city.genesis();
  const creator = { id: options.creator.id, name: options.creator.name };
  return {
    config: { ...defaultProtocolConfig, ...options.config },
    ledger: {
      ...ledger,
      accounts: ledger.accounts.filter((a) => a.kind !== 'validator'),
      validators: [creator],
    },
    initialTrust: {},
  };
}

/** The city seed of a room whose genesis did not name another: 48 bits of a hash of the chain id. */
export function roomCitySeed(chainId: string): number {
  return Number.parseInt(
    toHex(sha256Bytes(utf8Bytes(`tierbft/room-city/v1/${chainId}`))).slice(0, 12),
    16,
  );
}

/**
 * The city of a room genesis made with the default seed, rebuilt from the genesis alone (any tab
 * can: the city's keys are derived from the seed); null when the genesis holds another city.
 */
export function roomCityOf(genesis: Genesis): City | null {
  const households = genesis.ledger.accounts.filter((a) => a.kind === 'household').length;
  if (households === 0) return null;
  const city = createCity({
    seed: roomCitySeed(genesis.ledger.chainId),
    households,
    chainId: genesis.ledger.chainId,
    validators: 1,
  });
  const ids = new Set(genesis.ledger.accounts.map((a) => a.id));
  const members = [city.issuer, ...city.providers, ...city.households];
  return members.every((m) => ids.has(m.id)) && genesis.ledger.issuer === city.issuer.id
    ? city
    : null;
}
