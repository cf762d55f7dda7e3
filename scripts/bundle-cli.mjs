// Bundles the CLI (tsc's dist/cli/main.js and the Baton modules it imports) into dist/bundle/, which
// dist/cli/bin.js loads; scripts/cli-bundle.mjs says how and why.
import { mkdtempSync, rmSync } from 'node:fs';
import { bundleCli, swapIn } from './cli-bundle.mjs';

// Built apart, then swapped in whole: chunk names carry content hashes, so the last build's would
// stay behind in place, and a command started from dist/ during the build must not see half of it.
const staging = mkdtempSync('dist/.bundle-staging-');
try {
  await bundleCli('dist/cli/main.js', staging);
  swapIn(staging, 'dist/bundle');
} finally {
  rmSync(staging, { recursive: true, force: true });
}
