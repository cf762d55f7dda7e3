import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BatonError, ErrorCodes } from '../core/index.js';

const sdkPackage = '@anthropic-ai/claude-agent-sdk';

/** Whether this Linux runs on musl rather than glibc, asked as the Agent SDK asks it. */
function isMusl(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header !== undefined && report.header.glibcVersionRuntime === undefined;
}

/** The platform packages that may hold the native `claude`, glibc's before musl's on Linux. */
function candidatePackages(): string[] {
  const { platform, arch } = process;
  if (platform === 'android') return [`${sdkPackage}-linux-${arch}-android`];
  if (platform !== 'linux') return [`${sdkPackage}-${platform}-${arch}`];
  return [`${sdkPackage}-linux-${arch}`, `${sdkPackage}-linux-${arch}-musl`];
}

let found: string | null | undefined;

/**
 * The `claude` executable shipped with the Agent SDK for this platform, found the way the SDK finds
 * it but once per process: left to the SDK, every agent pays for the search, whose libc check
 * (`process.report.getReport()`) takes several ms of CPU; here that check is made only when both
 * builds are installed. Undefined when none is: the SDK then looks itself and says what is missing.
 */
export function bundledClaude(): string | undefined {
  if (found === undefined) found = findBundledClaude();
  return found ?? undefined;
}

function findBundledClaude(): string | null {
  const fromSdk = createRequire(createRequire(import.meta.url).resolve(sdkPackage));
  const suffix = process.platform === 'win32' ? '.exe' : '';
  const installed = candidatePackages().flatMap((name) => {
    try {
      const path = fromSdk.resolve(`${name}/claude${suffix}`);
      return existsSync(path) ? [path] : [];
    } catch {
      return []; // not installed for this platform
    }
  });
  // npm installs the one package that fits this libc; only when both are there does the libc decide.
  if (installed.length > 1 && isMusl()) return installed[1]!;
  return installed[0] ?? null;
}

/**
 * Before any agent starts on this machine: a `claude_path` that is not an executable file would fail
 * every attempt of every agent with the Agent SDK's own wording (refused here naming the setting, exit 2).
 */
export function checkClaudePath(path: string | undefined): void {
  if (path === undefined) return;
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
    accessSync(path, constants.X_OK);
  } catch {
    throw new BatonError(
      ErrorCodes.configInvalid,
      `claude_path (BATON_CLAUDE_PATH or the config file): ${path} is not an executable file; point it at a claude binary, or leave it unset for the one the Agent SDK installs`,
    );
  }
}
