export { configKeys, configSchema, defaultConfig } from './schema.js';
export type { BatonConfig, BatonConfigInput, ConfigKey } from './schema.js';
export { envName, loadConfig, resolveConfigFile } from './load.js';
export type { LoadConfigOptions, LoadedConfig } from './load.js';
