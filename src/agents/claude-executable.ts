import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const sdkPackage = '@anthropic-ai/claude-agent-sdk';

/** Whether this Linux runs on musl rather than glibc, asked as the Agent SDK asks it. */
function isMusl(): boolean {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header !== undefined && report.header.glibcVersionRuntime === undefined;
}

/** The platform packages that may hold the native `claude`, in the Agent SDK's order of preference. */
function candidatePackages(): string[] {
  const { platform, arch } = process;
  if (platform === 'android') return [`${sdkPackage}-linux-${arch}-android`];
  if (platform !== 'linux') return [`${sdkPackage}-${platform}-${arch}`];
  const glibc = `${sdkPackage}-linux-${arch}`;
  return isMusl() ? [`${glibc}-musl`, glibc] : [glibc, `${glibc}-musl`];
}

let found: string | null | undefined;

/**
 * The `claude` executable shipped with the Agent SDK for this platform, found the way the SDK finds
 * it but once per process: left to the SDK, every agent pays for the search, whose libc check
 * (`process.report.getReport()`) takes several ms of CPU. Undefined when it is not installed: the SDK
 * then looks itself and reports what is missing.
 */
export function bundledClaude(): string | undefined {
  if (found === undefined) found = findBundledClaude();
  return found ?? undefined;
}

function findBundledClaude(): string | null {
  const fromSdk = createRequire(createRequire(import.meta.url).resolve(sdkPackage));
  const suffix = process.platform === 'win32' ? '.exe' : '';
  for (const name of candidatePackages()) {
    try {
      const path = fromSdk.resolve(`${name}/claude${suffix}`);
      if (existsSync(path)) return path;
    } catch {
      // not installed for this platform: try the next
    }
  }
  return null;
}
