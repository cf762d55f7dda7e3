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
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { copyBanner } from '../dist/agents/agent-sdk.js';

// pino with the packages it requires: ≈ 30 small CommonJS files, whose resolving and loading one by
// one cost ≈ 12 ms of a run's start-up more than their code inlined.
const inlined = new Set(['@commander-js/extra-typings', 'commander', 'cockatiel', 'lru-cache', 'yaml', 'pino']);
/** A package an inlined package requires is inlined with it. */
const insideInlined = (importer) => [...inlined].some((name) => importer.includes(`/node_modules/${name}/`));

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

// The Agent SDK as CommonJS, which dist/agents/agent-sdk.js loads through a V8 code cache where Node
// has no compile cache for ES modules (Node 20): the SDK is the largest module a run compiles before
// its first agent starts. Its own lazily imported chunks become lazily run parts of the one file; the
// `import.meta.url` it finds its files from is the installed SDK's, as when it is imported.
const sdkEntry = createRequire(import.meta.url).resolve('@anthropic-ai/claude-agent-sdk');
const { version } = JSON.parse(readFileSync(join(dirname(sdkEntry), 'package.json'), 'utf8'));
const { outputFiles } = await build({
  entryPoints: [sdkEntry],
  write: false,
  outfile: 'dist/bundle/agent-sdk.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  define: { 'import.meta.url': '__agentSdkUrl' },
  banner: {
    js: "const __agentSdkUrl = require('node:url').pathToFileURL(require.resolve('@anthropic-ai/claude-agent-sdk')).href;",
  },
});
// A module compiled inside a function wrapper may not start with a hashbang line.
const code = outputFiles[0].text.replace(/^#!.*\n/, '');
writeFileSync('dist/bundle/agent-sdk.cjs', `${copyBanner(version)}\n${code}`);
