import { constants, copyFileSync, existsSync, lstatSync, realpathSync, rmSync, statSync } from 'node:fs';
import { basename, delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfigFile } from '../config/index.js';
import { BatonError, ErrorCodes, makeDirs } from '../core/index.js';
import type { Output } from './commands.js';

const starterDir = fileURLToPath(new URL('../../examples/starter/', import.meta.url));
/** What `baton init` writes: a commented workflow, a config, and the scripted model's replies for it. */
export const starterFiles = ['workflow.yaml', 'baton.config.yaml', 'model-script.yaml'] as const;

/** The package Baton runs from: where `npx --prefix` finds its `baton` command. */
const packageRoot = resolve(starterDir, '..', '..');

/**
 * How to run Baton from `dir`: `npx baton` finds it only in the npm project around `dir` (the nearest
 * folder with a package.json or node_modules) when that is Baton's own or has it installed; anywhere
 * else npx would look for a package named baton on the registry, so the hint names where Baton is.
 */
export function npxBaton(dir: string, root = packageRoot): string {
  for (let at = resolve(dir); ; at = dirname(at)) {
    if (existsSync(join(at, 'package.json')) || existsSync(join(at, 'node_modules'))) {
      if (at === root || existsSync(join(at, 'node_modules', '.bin', 'baton'))) return 'npx baton';
      break;
    }
    if (dirname(at) === at) break;
  }
  return batonFrom(root);
}

/**
 * Baton named by where it is: a checkout by its own folder (npx runs a project's own command); an
 * install (`<prefix>/node_modules/baton`) by the prefix whose `node_modules/.bin` has the command, as
 * `npx --prefix <package>` would find nothing there; a global install by its command on PATH.
 */
function batonFrom(root: string): string {
  const modules = dirname(root);
  if (basename(modules) !== 'node_modules') return `npx --prefix ${shellWord(root)} baton`;
  if (existsSync(join(modules, '.bin', 'baton'))) return `npx --prefix ${shellWord(dirname(modules))} baton`;
  const bin = join(root, 'dist', 'cli', 'bin.js');
  return commandOnPath('baton') === realpathOrSelf(bin) ? 'baton' : `node ${shellWord(bin)}`;
}

/** Where `name` resolves on PATH (links followed), if anywhere. */
function commandOnPath(name: string): string | undefined {
  for (const folder of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(folder, name);
    if (existsSync(candidate)) return realpathOrSelf(candidate);
  }
  return undefined;
}

const realpathOrSelf = (path: string): string => {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
};

/**
 * `dir` as one shell word, quoted only when it has to be (so the hints paste as they are); one that
 * starts with a dash gets `./` in front, so that `cd` does not take it for an option.
 */
function shellWord(dir: string): string {
  const word = dir.startsWith('-') ? `./${dir}` : dir;
  return /^[\w./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** Anything at `path`, a symlink to nowhere too (existsSync follows links, but a copy onto one fails). */
const pathTaken = (path: string): boolean => {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
};

/** The starter files into `target`; a folder that cannot be made or written to is the user's to change. */
function writeStarterFiles(target: string): void {
  const written: string[] = [];
  try {
    // A project folder, as mkdir makes one (the umask decides); never Node's recursive mkdir, which hangs under /proc.
    makeDirs(target, 0o777);
    for (const name of starterFiles) {
      copyFileSync(join(starterDir, name), join(target, name), constants.COPYFILE_EXCL);
      written.push(join(target, name));
    }
  } catch (cause) {
    // All or nothing: a half-written starter would be refused by the next `baton init` there.
    for (const path of written) rmSync(path, { force: true });
    throw new BatonError(
      ErrorCodes.usage,
      `Cannot write the starter files into ${target}: ${(cause as Error).message}. Name a directory you can write to.`,
      { cause },
    );
  }
}

/** `baton init [dir]`: the starter files in `dir` (default: here); it never overwrites a file. */
export async function initCommand(dir: string | undefined, output: Output): Promise<number> {
  if (dir?.trim() === '')
    throw new BatonError(
      ErrorCodes.usage,
      'baton init was given an empty directory name. Name a directory (baton init my-project), or leave it out for this one.',
    );
  const target = resolve(dir ?? '.');
  if (existsSync(target) && !statSync(target).isDirectory())
    throw new BatonError(
      ErrorCodes.initExists,
      `${target} is a file, not a directory; baton init writes into a directory. Name a new or existing directory.`,
    );
  // A baton.config.yml or .json already there would be silently shadowed by the baton.config.yaml we write.
  const config = resolveConfigFile(undefined, target);
  const taken = [
    ...starterFiles.map((name) => join(target, name)).filter((path) => pathTaken(path) && path !== config),
    ...(config ? [config] : []),
  ];
  if (taken.length > 0)
    throw new BatonError(
      ErrorCodes.initExists,
      `${taken.join(', ')} already ${taken.length === 1 ? 'exists' : 'exist'}; baton init never overwrites, and wrote nothing. Move ${taken.length === 1 ? 'it' : 'them'} away, or name another directory: baton init <dir>.`,
    );
  writeStarterFiles(target);
  const where = relative(process.cwd(), target) || '.';
  const cd = where === '.' ? '' : `cd ${shellWord(where)} && `;
  const baton = npxBaton(target);
  output.stdout.write(
    [
      `Wrote ${starterFiles.map((name) => join(where, name)).join(', ')}.`,
      'Next:',
      `  ${cd}${baton} plan workflow.yaml                                   # what it will do and cost`,
      `  ${cd}${baton} run workflow.yaml --model-script model-script.yaml   # offline, scripted model`,
      `  ${cd}${baton} run workflow.yaml                                    # on Claude (ANTHROPIC_API_KEY)`,
      '',
    ].join('\n'),
  );
  return 0;
}
