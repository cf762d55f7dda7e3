// Loads the Agent SDK. It is one 1.4 MB ES module, which Node 20 parses and compiles at every start
// of `baton run` (≈ 60 ms of CPU before the first agent can be spawned): Node keeps compiled ES
// modules only from 22.1 on (`module.enableCompileCache`, which bin.js turns on). `npm run build`
// therefore also writes a CommonJS copy of it (scripts/bundle-cli.mjs), which V8 can compile from a
// code cache of its own; on Node 20 that copy is loaded through one. Without the copy (a tsc-only
// build, the sources under tsx), or with the compile cache of Node ≥ 22.1, the SDK is imported as is.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

type AgentSdk = typeof import('@anthropic-ai/claude-agent-sdk');

const sdkPackage = '@anthropic-ai/claude-agent-sdk';
// From the bundle's chunks and from tsc's dist/agents/ alike: dist/bundle/.
const commonJsCopy = fileURLToPath(new URL('../bundle/agent-sdk.cjs', import.meta.url));

let loading: Promise<AgentSdk> | undefined;

/** The Agent SDK, loaded once per process, on first use (commands that start no agent skip it). */
export function loadAgentSdk(): Promise<AgentSdk> {
  loading ??= loadOnce();
  return loading;
}

async function loadOnce(): Promise<AgentSdk> {
  const source = nodeCompileCache() ? undefined : copyOfInstalledSdk();
  if (source !== undefined) return requireWithCodeCache(commonJsCopy, source, codeCacheDir()).exports as AgentSdk;
  return import('@anthropic-ai/claude-agent-sdk');
}

const nodeCompileCache = (): boolean =>
  typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';

/**
 * The CommonJS copy's source, if the build wrote one from the SDK version installed now (its first
 * line names the version: an SDK updated after the build is imported as is, not the stale copy).
 */
function copyOfInstalledSdk(): string | undefined {
  try {
    const source = readFileSync(commonJsCopy, 'utf8');
    const sdkDir = dirname(createRequire(commonJsCopy).resolve(sdkPackage));
    const { version } = JSON.parse(readFileSync(join(sdkDir, 'package.json'), 'utf8')) as { version: string };
    return source.startsWith(`${copyBanner(version)}\n`) ? source : undefined;
  } catch {
    return undefined;
  }
}

/** The first line of the CommonJS copy the build writes from SDK `version`. */
export const copyBanner = (version: string): string =>
  `// ${sdkPackage} ${version}, as CommonJS (scripts/bundle-cli.mjs)`;

/** Per user, as code caches are: V8 runs what it reads there. */
function codeCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'baton', 'v8');
}

export interface CodeCacheLoad {
  exports: unknown;
  /** `used`: compiled from the cache; `written`: compiled from source, cache written; `unavailable`: neither. */
  cache: 'used' | 'written' | 'unavailable';
}

/**
 * Runs the CommonJS module `file` (its `source`), compiled from the V8 code cache in `cacheDir` when
 * one was written for exactly this source, V8 and architecture; otherwise from source, writing that
 * cache afterwards (after running, so the functions its start-up compiled are in it). A cache that
 * cannot be read, written or used never stops the load: V8 checks what it is given and rejects a
 * cache it cannot use, and the module is then compiled from source.
 */
export function requireWithCodeCache(file: string, source: string, cacheDir: string): CodeCacheLoad {
  const key = createHash('sha256').update(`${process.versions.v8} ${process.arch}\n`).update(source).digest();
  const cacheFile = join(cacheDir, `${basename(file)}.v8-cache`);
  const cached = readCodeCache(cacheFile, key);
  const script = new Script(module.wrap(source), { filename: file, cachedData: cached });
  const commonJs = { exports: {} as unknown };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(commonJs.exports, commonJs.exports, createRequire(file), commonJs, file, dirname(file));
  if (cached !== undefined && !script.cachedDataRejected) return { exports: commonJs.exports, cache: 'used' };
  const written = writeCodeCache(cacheFile, key, script.createCachedData());
  return { exports: commonJs.exports, cache: written ? 'written' : 'unavailable' };
}

/** The cache written for `key` (its first bytes), or undefined. */
function readCodeCache(cacheFile: string, key: Buffer): Buffer | undefined {
  try {
    const data = readFileSync(cacheFile);
    return data.subarray(0, key.length).equals(key) ? data.subarray(key.length) : undefined;
  } catch {
    return undefined;
  }
}

/** Written whole or not at all (a rename), readable by this user only. */
function writeCodeCache(cacheFile: string, key: Buffer, data: Buffer): boolean {
  const partial = `${cacheFile}.${process.pid}`;
  try {
    mkdirSync(dirname(cacheFile), { recursive: true, mode: 0o700 });
    writeFileSync(partial, Buffer.concat([key, data]), { mode: 0o600 });
    renameSync(partial, cacheFile);
    return true;
  } catch {
    try {
      rmSync(partial, { force: true });
    } catch {
      // There was no directory to write into: nothing was left behind.
    }
    return false;
  }
}
