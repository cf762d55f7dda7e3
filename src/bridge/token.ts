import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { BatonError, ErrorCodes, processAlive } from '../core/index.js';
import { ensureTokenFile, readTokenFile, renewTokenFile } from '../http/index.js';

export const tokenFile = (dataDir: string): string => join(dataDir, 'bridge.token');
/** Where a running bridge says where it listens, for the MCP server and watchers in other processes. */
export const addressFile = (dataDir: string): string => join(dataDir, 'bridge.json');

/** Shorter than this, a token can be guessed; the bridge's own are 64 hex characters. */
const MIN_TOKEN_CHARS = 32;

/**
 * The bridge's token: read from `data_dir/bridge.token`, or created there (mode 0600) on first start,
 * so editors configured once keep working across restarts. An empty or short one is replaced by a
 * fresh one (`renewed`), as no client should be let in with it.
 */
export function ensureToken(dataDir: string): { token: string; renewed: boolean } {
  const existing = ensureTokenFile(tokenFile(dataDir));
  if (existing !== undefined && existing.length >= MIN_TOKEN_CHARS) return { token: existing, renewed: false };
  renewTokenFile(tokenFile(dataDir));
  return { token: readToken(dataDir), renewed: true };
}

export function readToken(dataDir: string): string {
  const token = readTokenFile(tokenFile(dataDir));
  if (token !== undefined) return token;
  throw new BatonError(
    ErrorCodes.bridgeUnavailable,
    `No Context Bridge token in ${tokenFile(dataDir)}: start the bridge once with \`baton bridge\` (it creates the token), using the same data_dir.`,
  );
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
  return processAlive(parsed.pid) ? parsed : undefined;
}
