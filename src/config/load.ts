import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { BatonError, ErrorCodes, parseYamlWithSchema, readUserFile, validateData } from '../core/index.js';
import { checkSettingsTogether, configKeys, configSchema, type BatonConfig, type ConfigKey } from './schema.js';

export interface LoadedConfig {
  config: BatonConfig;
  /** What contributed, lowest precedence first: 'defaults', the file, each env override. */
  sources: string[];
}

export interface LoadConfigOptions {
  /** An explicit config file; it must exist. */
  file?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

const defaultFileNames = ['baton.config.yaml', 'baton.config.yml', 'baton.config.json'];

/** The config file to read: the explicit one, else the first default name present in cwd. */
export function resolveConfigFile(file: string | undefined, cwd: string): string | undefined {
  if (file !== undefined) return resolve(cwd, file);
  return defaultFileNames.map((name) => join(cwd, name)).find((path) => existsSync(path));
}

export const envName = (key: ConfigKey): string => `BATON_${key.toUpperCase()}`;

/**
 * The schema with every key optional and no defaults, to validate one source (the file, the env)
 * on its own: zod's `.partial()` would still fill in defaults and let them override other sources.
 */
const sourceSchema = z
  .object(Object.fromEntries(configKeys.map((key) => [key, configSchema.shape[key].unwrap().optional()])))
  .strict();

const plainDecimal = /^-?[0-9]+(\.[0-9]+)?$/;

function envValue(key: ConfigKey, raw: string): unknown {
  const kind = configSchema.shape[key].unwrap();
  if (kind instanceof z.ZodBoolean) {
    if (['true', '1'].includes(raw)) return true;
    if (['false', '0'].includes(raw)) return false;
    throw new BatonError(ErrorCodes.configInvalid, `${envName(key)}=${raw} is not a boolean: use true, false, 1 or 0.`);
  }
  if (kind instanceof z.ZodRecord || kind instanceof z.ZodObject) {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      throw new BatonError(
        ErrorCodes.configInvalid,
        `${envName(key)} is not valid JSON: give an object, as in the config file.`,
      );
    }
  }
  if (kind instanceof z.ZodArray) return raw.split(',').flatMap((item) => (item.trim() ? [item.trim()] : []));
  // A number or a word (`session_pool_size: auto`): digits are the number, anything else the word.
  if (kind instanceof z.ZodUnion && kind.options.some((option) => option instanceof z.ZodNumber))
    return plainDecimal.test(raw) ? Number(raw) : raw;
  if (kind instanceof z.ZodNumber) {
    // Number() would also read `0x10`, `1e3`, ` 8 ` and `Infinity`: only plain decimals are meant.
    if (!plainDecimal.test(raw))
      throw new BatonError(
        ErrorCodes.configInvalid,
        `${envName(key)}=${raw} is not a number: write a plain decimal such as 8 or 0.5.`,
      );
    return Number(raw);
  }
  return raw;
}

/** Loads the config: defaults, then the file, then BATON_* environment overrides. */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const sources = ['defaults'];

  let fromFile: Record<string, unknown> = {};
  const file = resolveConfigFile(options.file, cwd);
  if (file) {
    const text = readUserFile(file, { code: ErrorCodes.configInvalid, what: 'Config file' });
    fromFile =
      parseYamlWithSchema(text, sourceSchema.nullable(), {
        source: file,
        code: ErrorCodes.configInvalid,
        what: 'Config file',
      }) ?? {};
    sources.push(file);
  }

  const fromEnv: Record<string, unknown> = {};
  for (const key of configKeys) {
    const name = envName(key);
    const raw = env[name];
    if (raw === undefined) continue;
    // One variable at a time, so an error names exactly the variable to fix.
    const checked = validateData(
      sourceSchema.pick({ [key]: true as const }),
      { [key]: envValue(key, raw) },
      { source: name, code: ErrorCodes.configInvalid, what: 'Config override' },
    );
    fromEnv[key] = checked[key];
    sources.push(`env ${name}`);
  }

  const config = checkSettingsTogether(configSchema.parse({ ...fromFile, ...fromEnv }));
  return { config: { ...config, data_dir: resolve(cwd, config.data_dir) }, sources };
}
