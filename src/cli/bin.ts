#!/usr/bin/env node
// Baton's executable. The V8 compile cache (Node ≥ 22.1; absent on Node 20) has to be on before
// Baton's modules are compiled, and static imports are all compiled before any code runs: hence this
// small entry that turns it on, then loads the CLI: bundled by `npm run build`
// (scripts/bundle-cli.mjs), which starts in about half the CPU time of tsc's ≈ 300 separate modules.
import { existsSync } from 'node:fs';
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const bundled = new URL('../bundle/main.js', import.meta.url);
// A tsc-only build (`npx tsc`) has no bundle: its modules work the same, only slower to load.
await import(existsSync(bundled) ? bundled.href : './main.js');
