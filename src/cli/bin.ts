#!/usr/bin/env node
// Baton's executable. The V8 compile cache (Node ≥ 22.1; absent on Node 20) has to be on before
// Baton's modules are compiled, and static imports are all compiled before any code runs: hence this
// small entry that turns it on, then loads the CLI.
import module from 'node:module';

(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
await import('./main.js');
