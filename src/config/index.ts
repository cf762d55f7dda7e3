export { checkSettingsTogether, configSchema, defaultConfig, sessionPoolSize } from './schema.js';
export type { BatonConfig, BatonConfigInput } from './schema.js';
export { envName, loadConfig, resolveConfigFile } from './load.js';
export type { LoadedConfig } from './load.js';
