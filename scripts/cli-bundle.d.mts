/** Bundles the CLI entry `main` (dist/cli/main.js or src/cli/main.ts) into `outdir` as main.js plus chunks. */
export function bundleCli(main: string, outdir: string): Promise<void>;
/** Puts the build in `staging` where `target` was, by two renames (never a half-written build). */
export function swapIn(staging: string, target: string): void;
