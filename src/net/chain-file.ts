// A live room's chain as a file: its genesis and every committed block with its certificate, so
// a student can take a room's history home and check it. Importing verifies it the way a newcomer
// verifies a peer's chain: a fresh replica on that genesis takes the blocks in order, each checked
// against its height's committee, and re-executes them; it stops at the first one that fails.

import { generateKeyPair } from '../crypto/keys.ts';
import { SignatureVerifier } from '../crypto/verify.ts';
import { toHex, fromHex, type DecodeResult } from '../crypto/encoding.ts';
import { decodeMessage, encodeMessage } from '../protocol/codec.ts';
import { readJsonFile } from './json-file.ts';
import { decodeGenesis, encodeGenesis } from '../protocol/genesis.ts';
import { Replica } from '../protocol/replica.ts';
import { signedItemsOf } from '../protocol/signing.ts';
import type { CommittedBlock, Genesis, ReplicaEvent } from '../protocol/types.ts';

const isHexText = (s: unknown): s is string =>
  typeof s === 'string' && s.length % 2 === 0 && /^[0-9a-f]*$/.test(s);

export const chainFormat = 'tierbft-chain';
export const chainVersion = 1;
/** Blocks handed to the verifying replica at a time. */
const batch = 32;

export interface ChainFile {
  readonly format: typeof chainFormat;
  readonly version: typeof chainVersion;
  readonly room: string;
  readonly height: number;
  readonly headHash: string;
  /** The genesis, canonical CBOR as hex. */
  readonly genesis: string;
  /** Each committed block with its certificate (a one-block `block-response`), as hex. */
  readonly blocks: readonly string[];
}

export function chainFileOf(
  room: string,
  genesis: Genesis,
  blocks: readonly CommittedBlock[],
): ChainFile {
  return {
    format: chainFormat,
    version: chainVersion,
    room,
    height: blocks.length,
    headHash: blocks.at(-1)?.certificate.digest ?? '',
    genesis: toHex(encodeGenesis(genesis)),
    blocks: blocks.map((cb) => toHex(encodeMessage({ type: 'block-response', blocks: [cb] }))),
  };
}

export interface VerifiedChain {
  readonly room: string;
  /** Blocks the file holds, and how many of them verified (in order, from height 1). */
  readonly claimed: number;
  readonly verified: number;
  readonly headHash: string;
  /** Why verification stopped short of the file's end (null when every block verified). */
  readonly stoppedBecause: string | null;
  /** The replica that verified it: its chain and ledger, for the views. */
  readonly replica: Replica;
  readonly events: readonly ReplicaEvent[];
}

/** Reads and verifies a chain file's text; every way it can be wrong gives a reason. */
export async function verifyChainFile(text: string): Promise<DecodeResult<VerifiedChain>> {
  const fail = (reason: string) => ({ ok: false as const, reason });
  const file = readJsonFile(text, chainFormat, chainVersion, 'a chain file');
  if (!file.ok) return file;
  const v = file.value;
  if (typeof v.room !== 'string' || v.room.length > 64) return fail('the room name is malformed');
  if (!isHexText(v.genesis)) return fail('the genesis is missing or not hex');
  const genesis = decodeGenesis(fromHex(v.genesis));
  if (!genesis.ok) return fail(`the genesis does not decode: ${genesis.reason}`);
  if (!Array.isArray(v.blocks) || !v.blocks.every(isHexText))
    return fail('the blocks are missing or not hex');

  const blocks: CommittedBlock[] = [];
  let stoppedBecause: string | null = null;
  for (const hex of v.blocks as string[]) {
    const m = decodeMessage(fromHex(hex));
    if (!m.ok || m.message.type !== 'block-response' || m.message.blocks.length !== 1) {
      stoppedBecause = `block ${blocks.length + 1} does not decode`;
      break;
    }
    blocks.push(m.message.blocks[0]!);
  }

  // A throwaway identity: this replica only listens.
  const verifier = new SignatureVerifier();
  const replica = new Replica({
    genesis: genesis.genesis,
    keys: generateKeyPair(),
    check: (pk, msg, sig) => verifier.check(pk, msg, sig),
  });
  const events: ReplicaEvent[] = [];
  const chainId = genesis.genesis.ledger.chainId;
  for (let at = 0; at < blocks.length; at += batch) {
    const message = { type: 'block-response', blocks: blocks.slice(at, at + batch) } as const;
    await verifier.preverify(signedItemsOf(chainId, message));
    const before = replica.chain.height;
    const out = replica.handle({ type: 'message', now: 0, from: replica.id, message });
    events.push(...out.events);
    if (replica.chain.height < Math.min(before + batch, blocks.length)) {
      const dropped = out.events.find((e) => e.type === 'dropped');
      stoppedBecause = `block ${replica.chain.height + 1} does not verify${dropped && dropped.type === 'dropped' ? `: ${dropped.reason}` : ''}`;
      break;
    }
  }
  return {
    ok: true,
    value: {
      room: v.room,
      claimed: v.blocks.length,
      verified: replica.chain.height,
      headHash: replica.chain.headHash,
      stoppedBecause,
      replica,
      events,
    },
  };
}
