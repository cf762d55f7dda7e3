// Builds the CLI the tests start (vitest's globalSetup), bundled as `npm run build` bundles it but
// straight from src/: a test's `baton` then starts in the time a user's does, not after tsx has
// compiled ≈ 300 modules again in every one of the suite's thousands of processes.
// The build is skipped when .test-dist/ was built from these very sources, and swapped in whole,
// so a half-written build is never started.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { TestProject } from 'vitest/node';
import { bundleCli, swapIn } from '../../scripts/cli-bundle.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** Where the test build lives: bundle/ (the CLI) and cli/bin.js (the executable loading it), as in dist/. */
const testBuildDir = join(root, '.test-dist');

/** What a build depends on: every source file but the tests, the bundling recipe and the locked packages. */
function sourcesHash(): string {
  const hash = createHash('sha256');
  const files = [
    ...readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((file) => /\.tsx?$/.test(file) && !/\.test\.tsx?$/.test(file))
      .map((file) => join(root, 'src', file)),
    join(root, 'scripts/cli-bundle.mjs'),
    join(root, 'package-lock.json'),
  ].sort();
  for (const file of files) hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

function builtFrom(): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(testBuildDir, 'built-from.json'), 'utf8')) as { hash: string }).hash;
  } catch {
    return undefined;
  }
}

export async function buildTestCli(): Promise<void> {
  const hash = sourcesHash();
  if (builtFrom() === hash) return;
  const staging = mkdtempSync(join(root, '.test-dist-staging-'));
  try {
    await bundleCli(join(root, 'src/cli/main.ts'), join(staging, 'bundle'));
    await build({
      entryPoints: [join(root, 'src/cli/bin.ts')],
      outfile: join(staging, 'cli/bin.js'),
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'warning',
    });
    writeFileSync(join(staging, 'built-from.json'), JSON.stringify({ hash }));
    swapIn(staging, testBuildDir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export default async function setup(project: TestProject): Promise<void> {
  await buildTestCli();
  // `vitest` (watch mode) reruns tests after a source change: their CLI has to include it.
  project.onTestsRerun(() => buildTestCli());
}
