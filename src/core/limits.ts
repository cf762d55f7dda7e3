import { isIP } from 'node:net';
import { z } from 'zod';
import { BatonError, ErrorCodes } from './errors.js';

/**
 * Ranges every duration, size and id in config and workflow files is held to, so a value either works
 * or is refused at validation (docs/configuration.md, docs/workflow-format.md list them).
 */

/** Node's timers hold at most 2^31-1 ms; a longer delay fires after 1 ms (TimeoutOverflowWarning). */
export const maxTimerMs = 2 ** 31 - 1;

export const second = 1000;
export const minute = 60 * second;
export const hour = 60 * minute;
export const day = 24 * hour;

/**
 * zod's "expected number, received string" for a value of the wrong type, said with what to write
 * instead (`what`); a missing value keeps zod's own message, which validation reports as missing.
 */
export const wrongTypeSays = (what: string) => ({
  error: (issue: { code?: string; input?: unknown }) =>
    issue.code === 'invalid_type' && issue.input !== undefined
      ? `expected ${what}, received ${Array.isArray(issue.input) ? 'array' : issue.input === null ? 'null' : typeof issue.input}`
      : undefined,
});

/** An integer within [min, max], with the range in the message; `what` says what to write in place of a wrong type. */
export function intRange(min: number, max: number, what?: string) {
  return z
    .number(what ? wrongTypeSays(what) : undefined)
    .int()
    .min(min, { message: `must be at least ${min} (range ${min}–${max})` })
    .max(max, { message: `must be at most ${max} (range ${min}–${max})` });
}

/** A duration in ms that may become a timer: never beyond what a timer holds. */
export function durationMs(min: number, max: number) {
  if (max > maxTimerMs) throw new RangeError(`durationMs max ${max} exceeds a timer's range`);
  return intRange(min, max, 'a whole number of milliseconds (5 minutes is 300000)');
}

/** A positive USD amount, finite and below an amount no run could mean. */
export const usdAmount = z
  .number(wrongTypeSays('an amount of USD, such as 5 or 0.5'))
  .positive({ message: 'must be above 0 USD (range above 0 to 1000000)' })
  .max(1_000_000, { message: 'must be at most 1000000 USD' });

/**
 * Ids become file names (`<agent>.json`), git branch names and metric labels: short enough for each,
 * with room for the suffixes Baton adds (`.17`, `.g3.task`).
 */
export const maxIdLength = 64;

/** A tenant's name becomes a file name (its dashboard token, `dashboard-tokens/<tenant>.token`): an id's characters. */
export const tenantNameSchema = z
  .string()
  .max(maxIdLength, { message: `at most ${maxIdLength} characters` })
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, {
    message: 'use letters, digits, "-" and "_", starting with a letter or digit',
  });

/** `name` if it is a tenant name; otherwise a BATON_USAGE error naming `field` (the flag or option) and the fix. */
export function checkTenantName(name: string, field: string): string {
  const parsed = tenantNameSchema.safeParse(name);
  if (parsed.success) return parsed.data;
  throw new BatonError(
    ErrorCodes.usage,
    `${field} ${JSON.stringify(name)} is not a tenant name: ${parsed.error.issues[0]?.message ?? 'invalid'} (e.g. ${field} team-a).`,
  );
}

/**
 * Linux refuses one environment string ("NAME=value") over 128 KiB (MAX_ARG_STRLEN) with E2BIG, and
 * all of them together over about 2 MiB: values are held well below both.
 */
export const maxEnvValueBytes = 64 * 1024;
export const maxEnvTotalBytes = 512 * 1024;

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'an environment variable name is letters, digits and "_"' });

/** Environment variables for a process: names it can hold, values that fit in its environment. */
export const processEnvSchema = z
  .record(
    envName,
    z
      .string()
      .refine((value) => !value.includes('\0'), { message: 'a value cannot hold a NUL character' })
      .refine((value) => Buffer.byteLength(value) <= maxEnvValueBytes, {
        message: `too large for a process environment (at most ${maxEnvValueBytes} bytes)`,
      }),
  )
  .refine(
    (env) =>
      Object.entries(env).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v) + 2, 0) <=
      maxEnvTotalBytes,
    { message: `all values together are too large for a process environment (at most ${maxEnvTotalBytes} bytes)` },
  );

/** A string passed on a command line (Claude Code's system prompt): the same per-string limit. */
export function argumentText() {
  return z.string().refine((value) => Buffer.byteLength(value) <= maxEnvValueBytes, {
    message: `too long (at most ${maxEnvValueBytes} bytes)`,
  });
}

/**
 * A host name or IP address as a `Host` header or a bind address gives it: no scheme, port, path or
 * wildcard (`evil.com/path` and `*` would never match a request, and would look as if they did).
 */
export const hostNameSchema = z
  .string()
  .refine(
    (host) => /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(host) || isIP(host.replace(/^\[(.*)\]$/, '$1')) === 6,
    {
      error:
        'is not a host name or IP address (give one such as build-7.internal or 10.0.0.5: no scheme, port, path or *)',
    },
  );
