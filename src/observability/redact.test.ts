import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../store/index.js';
import { createLogger } from './logger.js';
import { isSecretName, redactNamedValues, redactShapes, SecretRedactor } from '../core/index.js';
import { redactingStore } from './redact.js';

const env = {
  ANTHROPIC_API_KEY: 'sk-ant-api03-abcdefghijklmnop',
  GITHUB_TOKEN: 'ghp_1234567890abcdefghij',
  DB_PASSWORD: 'hunter2hunter2',
  HOME: '/home/someone',
  SHORT_TOKEN: 'abc',
};

describe('secret redaction', () => {
  const redactor = SecretRedactor.fromEnvironment(env, ['mcp-header-value-42']);

  it('removes secret env values, marked values and key-shaped strings, keeping the rest', () => {
    const text = `key=${env.ANTHROPIC_API_KEY} token ${env.GITHUB_TOKEN} pw:${env.DB_PASSWORD} mcp:mcp-header-value-42 home ${env.HOME} short abc`;
    expect(redactor.redact(text)).toBe(
      'key=[REDACTED] token [REDACTED] pw:[REDACTED] mcp:[REDACTED] home /home/someone short abc',
    );
    expect(
      redactor.redact('Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig and sk-ant-other-key-0123456789'),
    ).toBe('Authorization: Bearer [REDACTED] and [REDACTED]');
  });

  it('redacts deeply, and whole Authorization and API key fields', () => {
    expect(
      redactor.redactDeep({
        headers: { Authorization: 'anything at all', 'x-api-key': 'whatever' },
        list: [`pw ${env.DB_PASSWORD}`],
        n: 3,
      }),
    ).toEqual({
      headers: { Authorization: '[REDACTED]', 'x-api-key': '[REDACTED]' },
      list: ['pw [REDACTED]'],
      n: 3,
    });
  });

  it('keeps secrets out of the logs, which are their user’s alone (logs/ 0700, the file 0600)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-log-'));
    try {
      const file = join(dir, 'logs', 'baton.log');
      const logger = createLogger({ debug: false, file, redactor });
      logger.info(
        { event: 'agent.finished', error: { message: `401 with key ${env.ANTHROPIC_API_KEY}` } },
        'agent.finished',
      );
      logger.debug({ hidden: true }, 'not at info level');
      logger.flush();
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 30,
        event: 'agent.finished',
        error: { message: '401 with key [REDACTED]' },
        msg: 'agent.finished',
      });
      expect(createLogger({ debug: true, file, redactor }).isLevelEnabled('debug')).toBe(true);
      expect([statSync(join(dir, 'logs')).mode & 0o777, statSync(file).mode & 0o777]).toEqual([0o700, 0o600]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stores records without secrets, and reads them back as stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'baton-redact-'));
    const raw = openSqliteStore({ dataDir: dir });
    try {
      const store = redactingStore(raw, redactor);
      await store.saveRun({
        id: 'r',
        workflowName: 'wf',
        tenant: 'default',
        workflow: { env: { TOKEN: env.GITHUB_TOKEN } },
        status: 'running',
        createdAt: 1,
      });
      const saved = await store.saveContextEntry({
        id: 'e',
        runId: 'r',
        type: 'finding',
        content: `the password is ${env.DB_PASSWORD}`,
        tags: [],
        tokens: 1,
        level: 0,
        checksum: '',
        version: 0,
        createdAt: 1,
        updatedAt: 1,
      });
      expect(saved.content).toBe('the password is [REDACTED]');
      expect(await store.getContextEntry('e')).toEqual(saved);
      // The health record is the third argument: a server's error quoting a secret is stored without it.
      await store.saveMcpHealth('r', 'orchestrator', [
        {
          name: 'db',
          scope: 'run',
          breaker: 'closed',
          calls: 1,
          failures: 1,
          crashes: 0,
          restarts: 0,
          lastError: `auth failed with ${env.DB_PASSWORD}`,
        },
      ]);
      expect((await raw.listMcpHealth('r'))[0]?.lastError).toBe('auth failed with [REDACTED]');
      expect((await raw.getRun('r'))?.workflow).toEqual({ env: { TOKEN: '[REDACTED]' } });
    } finally {
      await raw.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the one redaction rule', () => {
  const redactor = new SecretRedactor(['literal-secret-value']);

  it('judges names word by word', () => {
    for (const name of [
      'GITHUB_TOKEN',
      'x-api-key',
      'ANTHROPIC_API_KEY',
      'dbPassword',
      'Authorization',
      'client_secret',
    ])
      expect([name, isSecretName(name)]).toEqual([name, true]);
    for (const name of ['author', 'authority', 'HOME', 'keyboard', 'apiVersion', 'PATH'])
      expect([name, isSecretName(name)]).toEqual([name, false]);
  });

  it('hides a secret with quotes, backslashes or control characters also as JSON spells it (a tool input preview)', () => {
    const awkward = new SecretRedactor(['Qx7"quoted\\slash-pw42', 'tab\tseparated-secret']);
    const input = { command: `printf '%s' 'Qx7"quoted\\slash-pw42'`, note: 'tab\tseparated-secret' };
    const preview = JSON.stringify(input);
    expect(awkward.redact(preview)).not.toMatch(/quoted|separated/);
    expect(awkward.redact(JSON.stringify({ input: preview }))).not.toMatch(/quoted|separated/);
    expect(awkward.redact(preview)).toBe(JSON.stringify({ command: `printf '%s' '[REDACTED]'`, note: '[REDACTED]' }));
  });

  it('takes environment variables named for a key or password at their end as secret, not fields so named', () => {
    const env = { OPENAI_KEY: 'openai-literal-7777', DB_PASS: 'db-pass-literal-88', HOME: '/home/someone' };
    const fromEnv = SecretRedactor.fromEnvironment(env);
    expect(fromEnv.redact('openai-literal-7777 db-pass-literal-88 /home/someone')).toBe(
      '[REDACTED] [REDACTED] /home/someone',
    );
    expect(isSecretName('pass')).toBe(true);
    for (const name of ['jobKey', 'orderKey', 'key', 'passed', 'compass'])
      expect([name, isSecretName(name)]).toEqual([name, false]);
  });

  it("leaves the shell's working directory alone: PWD is a path, though a `pwd` field is a password", () => {
    const env = {
      PWD: '/tmp/my-project',
      OLDPWD: '/home/someone/elsewhere',
      SSH_AUTH_SOCK: '/tmp/ssh-XXXX/agent.42',
      DB_PWD: 'db-pwd-literal-99',
    };
    const fromEnv = SecretRedactor.fromEnvironment(env);
    const text = 'File changed: /tmp/my-project/src/a.ts, from /home/someone/elsewhere via /tmp/ssh-XXXX/agent.42';
    expect(fromEnv.redact(`${text} db-pwd-literal-99`)).toBe(`${text} [REDACTED]`);
    expect(redactNamedValues('{"user":"me","pwd":"hunter2hunter2"}')).toBe('{"user":"me","pwd":"[REDACTED]"}');
  });

  it('hides URL passwords and known key shapes, keeping the rest of the URL', () => {
    expect(redactShapes('redis://:hunter2@redis.internal:6379/0 and rediss://u:p%40ss@h/1 and http://host/a@b')).toBe(
      'redis://:***@redis.internal:6379/0 and rediss://u:***@h/1 and http://host/a@b',
    );
    // A raw `@` in the password: the parser takes the last one before the host, so the mask does too.
    expect(redactShapes('redis://:Pw@with@127.0.0.1:1/0 then http://u:a@b@h/x')).toBe(
      'redis://:***@127.0.0.1:1/0 then http://u:***@h/x',
    );
    expect(redactShapes('github_pat_11ABCDEFG0123456789_abcdefghijkl xoxb-123456789012-abcdef')).toBe(
      '[REDACTED] [REDACTED]',
    );
    const keys = ['sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'glpat-xxxxxxxxxxxxxxxxxxxx', 'AKIAIOSFODNN7EXAMPLE'];
    expect(redactShapes(`${keys.join(' ')} npm_${'a1'.repeat(18)}`)).toBe(
      '[REDACTED] [REDACTED] [REDACTED] [REDACTED]',
    );
  });

  it('hides secret-named query parameters and webhook tokens of URLs (a webhook or OTLP URL carries its key)', () => {
    expect(
      redactShapes(
        'https://hooks.example.com/approve?token=whsec-123456&team=ops and http://127.0.0.1:4318/?api_key=otel-key-42#top ' +
          'and https://h/x?access_token=a1&apiKey=b2&page=3 https://maps.example.com/api?key=AIzaSy-k3y&sig=s1g&keyword=cafe',
      ),
    ).toBe(
      'https://hooks.example.com/approve?token=[REDACTED]&team=ops and http://127.0.0.1:4318/?api_key=[REDACTED]#top ' +
        'and https://h/x?access_token=[REDACTED]&apiKey=[REDACTED]&page=3 https://maps.example.com/api?key=[REDACTED]&sig=[REDACTED]&keyword=cafe',
    );
    expect(
      redactShapes(
        'https://hooks.slack.com/services/T0001/B0002/XXXXabcdXXXXabcd1234 https://discord.com/api/webhooks/123456/tok-en_value',
      ),
    ).toBe('https://hooks.slack.com/services/[REDACTED] https://discord.com/api/webhooks/[REDACTED]');
  });

  it('keeps JSON it redacts valid: a URL shape stops at the closing quote of its string', () => {
    const data = {
      web: { url: 'https://user:pw12345678@example.com/mcp?api_key=sk-live-abcdefgh', type: 'http' },
      redis: 'redis://x:hunter2hunter2',
      mail: 'ops@example.com',
    };
    for (const text of [JSON.stringify(data), JSON.stringify(data, null, 2)]) {
      const redacted = JSON.parse(redactShapes(text)) as typeof data;
      expect(redacted).toEqual({
        web: { url: 'https://user:***@example.com/mcp?api_key=[REDACTED]', type: 'http' },
        redis: 'redis://x:hunter2hunter2',
        mail: 'ops@example.com',
      });
    }
  });

  it('hides secret-named fields whole, but leaves ${VAR} references (they say where, not what)', () => {
    expect(
      redactor.redactDeep({
        env: { TOKEN: 'short', API_KEY: '${API_KEY}', NOTE: 'has literal-secret-value inside' },
        headers: { Authorization: 'Bearer ${GH_TOKEN}' },
        usage: { input_tokens: 12 },
      }),
    ).toEqual({
      env: { TOKEN: '[REDACTED]', API_KEY: '${API_KEY}', NOTE: 'has [REDACTED] inside' },
      headers: { Authorization: 'Bearer ${GH_TOKEN}' },
      usage: { input_tokens: 12 },
    });
  });
});
