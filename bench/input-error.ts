/** A benchmark's input (an environment variable, a file) is wrong: `npm run bench` says so and exits 2. */
export class BenchInputError extends Error {}
