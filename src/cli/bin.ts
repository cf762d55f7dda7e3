#!/usr/bin/env node
// Baton's executable. The V8 compile cache (Node ≥ 22.1; absent on Node 20) has to be on before
// Baton's modules are compiled, and static imports are all compiled before any code runs: hence this
// small entry that turns it on, then loads the CLI: bundled by `npm run build`
// (scripts/bundle-cli.mjs), which starts in about half the CPU time of tsc's ≈ 300 separate modules.
import { statSync } from 'node:fs';
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const bundled = new URL('../bundle/main.js', import.meta.url);
const modules = new URL('./main.js', import.meta.url);
const builtAt = (file: URL): number => statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0;
// A tsc-only build (`npx tsc`) has no bundle, or leaves an older one behind: tsc's modules then, which
// work the same, only slower to load.
await import(builtAt(bundled) >= builtAt(modules) ? bundled.href : modules.href);
