import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dev?: boolean;
  [key: string]: unknown;
}
interface Lockfile {
  name: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

/** Where the registry serves a package's tarball (lockfiles leave it out for some entries). */
function registryTarball(path: string, entry: LockEntry): string {
  const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
  const base = name.includes('/') ? name.split('/')[1] : name;
  return `https://registry.npmjs.org/${name}/-/${base}-${entry.version}.tgz`;
}

/**
 * Prepares `prefix` to install `tarball` (a `npm pack` of this project) with `npm ci --offline`: npm
 * cannot resolve versions without the network, but with a lockfile it fetches every package by its
 * integrity from the npm cache, which `npm ci` of this project filled. The lockfile is this project's,
 * minus dev dependencies, with the project itself as the one dependency of an empty package.
 */
export function writeOfflineInstallLock(projectRoot: string, tarball: string, prefix: string): void {
  const lock = JSON.parse(readFileSync(join(projectRoot, 'package-lock.json'), 'utf8')) as Lockfile;
  const self = lock.packages['']!;
  const packages: Record<string, LockEntry> = {
    '': { name: 'empty-prefix', version: '1.0.0', dependencies: { [lock.name]: `file:${tarball}` } },
    [`node_modules/${lock.name}`]: {
      ...self,
      devDependencies: undefined,
      resolved: `file:${tarball}`,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages))
    if (path !== '' && !entry.dev)
      packages[path] = { ...entry, resolved: entry.resolved ?? registryTarball(path, entry) };
  const manifest = { name: 'empty-prefix', version: '1.0.0', dependencies: { [lock.name]: `file:${tarball}` } };
  writeFileSync(join(prefix, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(
    join(prefix, 'package-lock.json'),
    JSON.stringify({ name: 'empty-prefix', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2),
  );
}
