import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { BatonError, ErrorCodes } from '../core/index.js';

export const tokenFile = (dataDir: string): string => join(dataDir, 'bridge.token');
/** Where a running bridge says where it listens, for the MCP server and watchers in other processes. */
export const addressFile = (dataDir: string): string => join(dataDir, 'bridge.json');

/**
 * The bridge's token: read from `data_dir/bridge.token`, or created there (32 random bytes, hex,
 * mode 0600) on first start, so editors configured once keep working across restarts.
 */
export function ensureToken(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  const file = tokenFile(dataDir);
  try {
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Someone else may read a token left group- or world-readable: tighten it.
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  }
  return readToken(dataDir);
}

export function readToken(dataDir: string): string {
  try {
    const token = readFileSync(tokenFile(dataDir), 'utf8').trim();
    if (token.length > 0) return token;
  } catch {
    // reported below
  }
  throw new BatonError(
    ErrorCodes.bridgeUnavailable,
    `No Context Bridge token in ${tokenFile(dataDir)}: start the bridge once with \`baton bridge\` (it creates the token), using the same data_dir.`,
  );
}

/** Constant-time comparison, so response timing does not reveal how much of a guess was right. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

const addressSchema = z.object({ url: z.string().url(), pid: z.number().int() });
export type BridgeAddress = z.output<typeof addressSchema>;

export function writeAddress(dataDir: string, address: BridgeAddress): void {
  writeFileSync(addressFile(dataDir), `${JSON.stringify(address)}\n`, { mode: 0o600 });
}

/** The address a running bridge wrote, if its process is still alive. */
export function readAddress(dataDir: string): BridgeAddress | undefined {
  let parsed: BridgeAddress;
  try {
    parsed = addressSchema.parse(JSON.parse(readFileSync(addressFile(dataDir), 'utf8')));
  } catch {
    return undefined;
  }
  try {
    process.kill(parsed.pid, 0);
    return parsed;
  } catch {
    return undefined;
  }
}
