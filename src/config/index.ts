export { configSchema, defaultConfig } from './schema.js';
export type { BatonConfig, BatonConfigInput } from './schema.js';
export { envName, loadConfig } from './load.js';
export type { LoadedConfig } from './load.js';
