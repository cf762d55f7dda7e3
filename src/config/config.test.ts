import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/temp-dir.js';
import { defaultConfig, loadConfig, sessionPoolSize } from './index.js';

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'baton-config-'));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

const templates = fileURLToPath(new URL('../../config/', import.meta.url));

describe('loadConfig', () => {
  it('has a default for every key, with data_dir resolved against cwd', () => {
    const { config, sources } = loadConfig({ cwd, env: {} });
    expect(config).toEqual({ ...defaultConfig(), data_dir: join(cwd, '.baton') });
    expect(config).toMatchObject({
      mcp_timeout_ms: 5000,
      context_size_limit: 50_000,
      parallel_limit: 5,
      max_retries: 2,
      use_mock_mcp: false,
      enable_metrics: false,
    });
    expect(sources).toEqual(['defaults']);
  });

  it('reads baton.config.yaml from cwd; env overrides beat the file', () => {
    writeFileSync(join(cwd, 'baton.config.yaml'), 'parallel_limit: 9\nenable_metrics: true\ndata_dir: state\n');
    const { config, sources } = loadConfig({ cwd, env: { BATON_PARALLEL_LIMIT: '3', BATON_USE_MOCK_MCP: '1' } });
    expect(config).toMatchObject({
      parallel_limit: 3,
      enable_metrics: true,
      use_mock_mcp: true,
      data_dir: join(cwd, 'state'),
    });
    expect(sources).toEqual([
      'defaults',
      join(cwd, 'baton.config.yaml'),
      'env BATON_USE_MOCK_MCP',
      'env BATON_PARALLEL_LIMIT',
    ]);
  });

  it('reads JSON config files', () => {
    writeFileSync(
      join(cwd, 'baton.config.json'),
      JSON.stringify({ redis_url: 'redis://localhost:6379', max_retries: 0 }),
    );
    expect(loadConfig({ cwd, env: {} }).config).toMatchObject({ redis_url: 'redis://localhost:6379', max_retries: 0 });
  });

  it('names an unknown key and its line', () => {
    writeFileSync(join(cwd, 'baton.config.yaml'), 'parallel_limit: 2\nparalel_limit: 4\n');
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/baton\.config\.yaml:2: paralel_limit: unknown field/);
  });

  it('says what to write for a whole-number setting given a fraction, naming the variable', () => {
    expect(() => loadConfig({ cwd, env: { BATON_MAX_RETRIES: '1.5' } })).toThrow(
      'BATON_MAX_RETRIES: max_retries: must be a whole number (e.g. 2), not 1.5',
    );
  });

  it('refuses settings that cannot go together, wherever each comes from, naming both', () => {
    writeFileSync(join(cwd, 'baton.config.yaml'), 'retry_max_delay_ms: 1000\n');
    expect(() => loadConfig({ cwd, env: { BATON_RETRY_BASE_DELAY_MS: '5000' } })).toThrow(
      expect.objectContaining({
        code: 'BATON_CONFIG_INVALID',
        message: expect.stringMatching(/^retry_base_delay_ms \(5000\) is above retry_max_delay_ms \(1000\)/),
      }),
    );
    // Header lines that HTTP cannot carry are refused before any server is started.
    writeFileSync(
      join(cwd, 'baton.config.yaml'),
      'mcp_servers:\n  api: { type: http, url: "https://a.example/mcp", headers: { "X A:": v, Ok: "a\\r\\nInjected: 1" } }\n',
    );
    expect(() => loadConfig({ cwd, env: {} })).toThrow(
      /headers\.X A:: invalid key: a header name[^]*headers\.Ok: a header value cannot hold a line break/,
    );
  });

  it('takes host names and IP addresses where a host goes, and refuses what could never match one', () => {
    writeFileSync(
      join(cwd, 'baton.config.yaml'),
      'bridge_host: "::1"\nhttp_allowed_hosts: [build-7.internal, 10.0.0.5, "[fd00::1]", Example.COM]\n',
    );
    expect(loadConfig({ cwd, env: {} }).config.http_allowed_hosts).toHaveLength(4);
    writeFileSync(
      join(cwd, 'baton.config.yaml'),
      'bridge_host: not a host\nhttp_allowed_hosts: [evil.com/path, "*", "host:80", "http://x"]\n',
    );
    const problems = (() => {
      try {
        loadConfig({ cwd, env: {} });
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    for (const field of [
      'bridge_host',
      'http_allowed_hosts[0]',
      'http_allowed_hosts[1]',
      'http_allowed_hosts[2]',
      'http_allowed_hosts[3]',
    ])
      expect(problems).toContain(`${field}: is not a host name or IP address`);
  });

  it('names a wrongly typed key and its line', () => {
    writeFileSync(join(cwd, 'c.yaml'), '# comment\nmcp_timeout_ms: soon\n');
    expect(() => loadConfig({ cwd, env: {}, file: 'c.yaml' })).toThrow(
      expect.objectContaining({
        code: 'BATON_CONFIG_INVALID',
        message: expect.stringMatching(/c\.yaml:2: mcp_timeout_ms/),
      }),
    );
  });

  it('refuses a per-tenant limit for a name no tenant can have (it would never apply), naming key and line', () => {
    writeFileSync(
      join(cwd, 'baton.config.yaml'),
      'tenant_max_concurrent_agents:\n  team-a: 2\n  "team b": 3\ntenant_daily_budget_usd: { "../x": 1 }\n',
    );
    expect(() => loadConfig({ cwd, env: {} })).toThrow(
      expect.objectContaining({
        code: 'BATON_CONFIG_INVALID',
        message: expect.stringMatching(
          /baton\.config\.yaml:3: tenant_max_concurrent_agents\.team b: .*letters, digits/s,
        ),
      }),
    );
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/tenant_daily_budget_usd\.\.\.\/x: /);
    writeFileSync(join(cwd, 'baton.config.yaml'), 'tenant_daily_token_budget: { team-a: 1000, t_2: 5 }\n');
    expect(loadConfig({ cwd, env: {} }).config.tenant_daily_token_budget).toEqual({ 'team-a': 1000, t_2: 5 });
  });

  it('rejects a redis_url that is not a redis URL', () => {
    writeFileSync(join(cwd, 'baton.config.yaml'), 'redis_url: http://localhost\n');
    expect(() => loadConfig({ cwd, env: {} })).toThrow(
      /baton\.config\.yaml:1: redis_url: must be a redis:\/\/ or rediss:\/\/ URL/,
    );
  });

  it('accepts a redis URL with credentials from the env, and rejects one without a host', () => {
    expect(loadConfig({ cwd, env: { BATON_REDIS_URL: 'rediss://:secret@cache:6380/1' } }).config.redis_url).toBe(
      'rediss://:secret@cache:6380/1',
    );
    expect(() => loadConfig({ cwd, env: { BATON_REDIS_URL: 'redis://' } })).toThrow(
      /BATON_REDIS_URL: redis_url: must be a redis/,
    );
  });

  it('takes only http(s) URLs with a host as otel_endpoint (a bare host:port is no URL to post to)', () => {
    for (const bad of ['localhost:4318', 'ftp://collector:4318', 'http://'])
      expect(() => loadConfig({ cwd, env: { BATON_OTEL_ENDPOINT: bad } })).toThrow(
        /BATON_OTEL_ENDPOINT: otel_endpoint: must be an http:\/\/ or https:\/\/ URL/,
      );
    writeFileSync(join(cwd, 'baton.config.yaml'), 'otel_endpoint: https://tempo.internal:4318\n');
    expect(loadConfig({ cwd, env: {} }).config.otel_endpoint).toBe('https://tempo.internal:4318');
  });

  it('names a bad env variable and the values it accepts', () => {
    expect(() => loadConfig({ cwd, env: { BATON_ENABLE_METRICS: 'yes' } })).toThrow(
      /BATON_ENABLE_METRICS=yes is not a boolean: use true, false, 1 or 0/,
    );
    expect(() => loadConfig({ cwd, env: { BATON_PARALLEL_LIMIT: 'many' } })).toThrow(
      /BATON_PARALLEL_LIMIT=many is not a number/,
    );
    expect(() => loadConfig({ cwd, env: { BATON_PARALLEL_LIMIT: '0', BATON_DATA_DIR: '/x' } })).toThrow(
      expect.objectContaining({
        code: 'BATON_CONFIG_INVALID',
        message: expect.stringMatching(
          /^Config override is invalid:\n {2}- BATON_PARALLEL_LIMIT: parallel_limit: must be at least 1 \(range 1–1000\)/,
        ),
      }),
    );
  });

  it('sizes the session pool from the cores beyond parallel_limit by default, and takes a number as given', () => {
    const pool = (env: Record<string, string>, cores: number) =>
      sessionPoolSize(loadConfig({ cwd, env }).config, cores);
    expect(defaultConfig().session_pool_size).toBe('auto');
    // A spare boots on an idle core: none when every core already runs an agent, never more than 2.
    expect(pool({ BATON_PARALLEL_LIMIT: '1' }, 2)).toBe(1);
    expect(pool({ BATON_PARALLEL_LIMIT: '2' }, 2)).toBe(0);
    expect(pool({ BATON_PARALLEL_LIMIT: '8' }, 2)).toBe(0);
    expect(pool({ BATON_PARALLEL_LIMIT: '4' }, 16)).toBe(2);
    expect(pool({ BATON_PARALLEL_LIMIT: '8', BATON_SESSION_POOL_SIZE: '3' }, 2)).toBe(3);
    expect(pool({ BATON_SESSION_POOL_SIZE: '0' }, 64)).toBe(0);
    expect(pool({ BATON_PARALLEL_LIMIT: '1', BATON_SESSION_POOL_SIZE: 'auto' }, 4)).toBe(2);
    expect(() => loadConfig({ cwd, env: { BATON_SESSION_POOL_SIZE: 'lots' } })).toThrow(
      /BATON_SESSION_POOL_SIZE: session_pool_size: must be an integer 0–64, or auto/,
    );
    writeFileSync(join(cwd, 'baton.config.yaml'), 'session_pool_size: 65\n');
    expect(() => loadConfig({ cwd, env: {} })).toThrow(/session_pool_size: .*range 0–64/);
  });

  it('refuses durations a timer cannot hold (2^31 ms and more), naming the key and its range', () => {
    writeFileSync(join(cwd, 'baton.config.yaml'), 'agent_timeout_ms: 2147483648\nmcp_timeout_ms: 1e12\n');
    expect(() => loadConfig({ cwd, env: {} })).toThrow(
      expect.objectContaining({
        code: 'BATON_CONFIG_INVALID',
        message: expect.stringMatching(
          /:1: agent_timeout_ms: must be at most 86400000[\s\S]*:2: mcp_timeout_ms: must be at most/,
        ),
      }),
    );
    expect(() =>
      loadConfig({
        cwd: tempDir('baton-config-'),
        env: { BATON_RETRY_MAX_DELAY_MS: '2147483648' },
      }),
    ).toThrow(/BATON_RETRY_MAX_DELAY_MS: retry_max_delay_ms: must be at most 3600000/);
  });

  it.each(['0x10', '1e3', ' 8', '8 ', 'Infinity', '+8', '0b11'])(
    'reads numbers from BATON_* as plain decimals only: %j is refused',
    (raw) => {
      expect(() => loadConfig({ cwd, env: { BATON_PARALLEL_LIMIT: raw } })).toThrow(
        expect.objectContaining({
          code: 'BATON_CONFIG_INVALID',
          message: expect.stringMatching(/is not a number: write a plain decimal/),
        }),
      );
    },
  );

  it('refuses a .json config with a trailing comma', () => {
    writeFileSync(join(cwd, 'baton.config.json'), '{\n  "parallel_limit": 3,\n}\n');
    expect(() => loadConfig({ cwd, env: {} })).toThrow(
      expect.objectContaining({
        code: 'BATON_CONFIG_INVALID',
        message: expect.stringMatching(/baton\.config\.json:3: \(syntax\)/),
      }),
    );
  });

  it('fails clearly when an explicit file does not exist', () => {
    expect(() => loadConfig({ cwd, env: {}, file: 'missing.yaml' })).toThrow(
      /Config file .*missing\.yaml does not exist/,
    );
  });

  it('treats an empty file as no settings', () => {
    writeFileSync(join(cwd, 'baton.config.yaml'), '# nothing yet\n');
    expect(loadConfig({ cwd, env: {} }).config.parallel_limit).toBe(5);
  });

  it.each(['development.yaml', 'production.yaml'])('loads the shipped %s template', (name) => {
    const { config } = loadConfig({ cwd, env: {}, file: join(templates, name) });
    if (name === 'production.yaml')
      expect(config).toMatchObject({
        parallel_limit: 20,
        mcp_timeout_ms: 2000,
        enable_metrics: true,
        redis_url: 'redis://prod-redis:6379',
      });
    else
      expect(config).toMatchObject({
        parallel_limit: 5,
        use_mock_mcp: true,
        enable_debug_logging: true,
        context_size_limit: 100_000,
      });
  });
});
