// How Baton's CLI is bundled, shared by `npm run build` (scripts/bundle-cli.mjs, from tsc's output)
// and the test suite (test/support/cli-build.ts, from the TypeScript sources).
// Node spends most of a command's start-up finding, reading and compiling ≈ 300 small ES modules;
// one bundle plus a few chunks start in about half the CPU time.
// - Splitting keeps each dynamic import (the TUI, the dashboard, BullMQ, the gateway, …) a chunk
//   loaded only by the commands that need it: a single-file bundle would load them all at every start.
// - Packages stay external (resolved from node_modules at run time) except the few small ones every
//   command loads. zod stays external although its entry loads 95 modules (64 of them locales Baton
//   never uses): inlined, a command spared ≈ 60 ms of CPU, but one that loads the MCP SDK (a run with
//   MCP servers, `baton mcp-server`) then loaded the SDK's own zod as well, ≈ 90 ms more; inlining
//   the MCP SDK too would leave its ajv-formats requiring an external ajv beside the inlined one.
// - The chunks sit one folder below the package root, as dist/cli/ does, so paths Baton computes
//   from import.meta.url (../../package.json, ../../examples/, ../cli/bin.js) resolve as they do
//   from tsc's output.
import { renameSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

// pino with the packages it requires: ≈ 30 small CommonJS files, whose resolving and loading one by
// one cost ≈ 12 ms of a run's start-up more than their code inlined; jsdiff, whose 19 modules cost
// ≈ 23 ms where a run uses one function of them (duplicate facts' word diff).
const inlined = new Set(['@commander-js/extra-typings', 'commander', 'cockatiel', 'lru-cache', 'yaml', 'pino', 'diff']);
/** A package an inlined package requires is inlined with it. */
const insideInlined = (importer) =>
  [...inlined].some((name) => importer.replaceAll('\\', '/').includes(`/node_modules/${name}/`));

/** `zod/v4` → `zod`, `@scope/name/sub` → `@scope/name`. */
const packageOf = (specifier) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** Bundles the CLI entry `main` (dist/cli/main.js or src/cli/main.ts) into `outdir` as main.js plus chunks. */
export async function bundleCli(main, outdir) {
  await build({
    entryPoints: { main },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
    // The inlined CommonJS packages (commander) call require(), which an ES module does not have.
    banner: {
      js: "import { createRequire as __batonCreateRequire } from 'node:module';\nconst require = __batonCreateRequire(import.meta.url);",
    },
    plugins: [
      {
        name: 'external-packages',
        setup(bundler) {
          bundler.onResolve({ filter: /^[^./]/ }, ({ path, importer }) =>
            !path.startsWith('node:') && (inlined.has(packageOf(path)) || insideInlined(importer))
              ? undefined
              : { external: true },
          );
        },
      },
    ],
  });
}

/**
 * Puts the build in `staging` where `target` was, by two renames: a command starting meanwhile (a test
 * beside `npm pack`'s build) finds the old build or the new one, never half of one. Between the
 * renames `target` is missing for a moment, which dist/cli/bin.js falls back from (to tsc's modules).
 * A process already running from the old build loses the chunks it has not loaded yet, as before.
 */
export function swapIn(staging, target) {
  const previous = `${target}-previous-${process.pid}`;
  rmSync(previous, { recursive: true, force: true });
  try {
    renameSync(target, previous);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  renameSync(staging, target);
  rmSync(previous, { recursive: true, force: true });
}
