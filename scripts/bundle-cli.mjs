// Bundles the CLI (tsc's dist/cli/main.js and the Baton modules it imports) into dist/bundle/, which
// dist/cli/bin.js loads. Node spends most of a command's start-up finding, reading and compiling
// ≈ 300 small ES modules; one bundle plus a few chunks start in about half the CPU time.
// - Splitting keeps each dynamic import (the TUI, the dashboard, BullMQ, the gateway, …) a chunk
//   loaded only by the commands that need it: a single-file bundle would load them all at every start.
// - Packages stay external (resolved from node_modules at run time) except the few small ones every
//   command loads; zod stays external because Baton hands its schemas to the MCP SDK, which must
//   see the same zod.
// - The chunks sit at the same depth as dist/cli/, so paths Baton computes from import.meta.url
//   (../../package.json, ../../examples/, ../cli/bin.js) resolve as they do from tsc's output.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// pino with the packages it requires: ≈ 30 small CommonJS files, whose resolving and loading one by
// one cost ≈ 12 ms of a run's start-up more than their code inlined.
const inlined = new Set(['@commander-js/extra-typings', 'commander', 'cockatiel', 'lru-cache', 'yaml', 'pino']);
/** A package an inlined package requires is inlined with it. */
const insideInlined = (importer) =>
  [...inlined].some((name) => importer.replaceAll('\\', '/').includes(`/node_modules/${name}/`));

/** `zod/v4` → `zod`, `@scope/name/sub` → `@scope/name`. */
const packageOf = (specifier) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

// Chunk names carry content hashes: last build's would stay behind.
rmSync('dist/bundle', { recursive: true, force: true });
await build({
  entryPoints: { main: 'dist/cli/main.js' },
  outdir: 'dist/bundle',
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
