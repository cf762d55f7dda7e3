// Bundles the CLI (tsc's dist/cli/main.js and the Baton modules it imports) into dist/bundle/, which
// dist/cli/bin.js loads; scripts/cli-bundle.mjs says how and why.
import { rmSync } from 'node:fs';
import { bundleCli } from './cli-bundle.mjs';

// Chunk names carry content hashes: last build's would stay behind.
rmSync('dist/bundle', { recursive: true, force: true });
await bundleCli('dist/cli/main.js', 'dist/bundle');
