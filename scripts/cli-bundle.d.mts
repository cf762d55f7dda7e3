/** Bundles the CLI entry `main` (dist/cli/main.js or src/cli/main.ts) into `outdir` as main.js plus chunks. */
export function bundleCli(main: string, outdir: string): Promise<void>;
