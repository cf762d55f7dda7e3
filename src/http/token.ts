import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';

/**
 * A server's token: read from `file`, or created there (32 random bytes, hex, mode 0600) on first start,
 * so clients configured once keep working across restarts. Undefined when the file cannot be read back.
 */
export function ensureTokenFile(file: string): string | undefined {
  mkdirSync(dirname(file), { recursive: true });
  if (existsSync(file)) {
    // Someone else may read a token left group- or world-readable: tighten it.
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  } else createTokenFile(file);
  return readTokenFile(file);
}

/**
 * Written whole under another name, then linked into place: a process starting at the same moment
 * (two runs at once) finds either no file or the whole token, never an empty one; the loser of the
 * race keeps the winner's token.
 */
function createTokenFile(file: string): void {
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(draft, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(draft);
  }
}

/** Replaces the token in `file` with a fresh one, written whole under another name and renamed into place. */
export function renewTokenFile(file: string): void {
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(draft, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(draft, file);
}

export function readTokenFile(file: string): string | undefined {
  try {
    const token = readFileSync(file, 'utf8').trim();
    return token.length > 0 ? token : undefined;
  } catch {
    return undefined;
  }
}

/** Constant-time comparison, so response timing does not reveal how much of a guess was right. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
