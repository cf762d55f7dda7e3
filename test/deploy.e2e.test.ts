import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AGENT_QUEUE } from '../src/queue/index.js';
import { startCli, waitFor } from './support/cli.js';
import { agentProcessesWithEnv, processesWithEnv } from './support/processes.js';
import { requireProgram } from './support/programs.js';
import { useRedisStore } from './support/redis.js';
import { useScriptedModel } from './support/scripted-model.js';
import { tempDir } from './support/temp-dir.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const packageJson = JSON.parse(read('package.json')) as {
  bin: { baton: string };
  scripts: Record<string, string>;
  engines: { node: string };
};

/** `[Section] Key=value` lines of a systemd unit; a key set twice keeps its last value. */
function unitFile(text: string): Record<string, Record<string, string>> {
  const sections: Record<string, Record<string, string>> = {};
  let section = '';
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) sections[(section = header[1]!)] = {};
    else sections[section]![line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  }
  return sections;
}

/** The Dockerfile's instructions, continuation lines joined. */
function dockerInstructions(text: string): Array<{ op: string; args: string }> {
  const joined = text.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => ({ op: l.split(/\s+/)[0]!.toUpperCase(), args: l.slice(l.indexOf(' ') + 1).trim() }));
}

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`, with `env` as the shell's environment. */
const interpolate = (value: string, env: Record<string, string>): string =>
  value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name: string, kind?: string, rest?: string) => {
    if (env[name] !== undefined && env[name] !== '') return env[name];
    if (kind === '?') throw new Error(`compose would refuse to start: ${name}: ${rest}`);
    return kind === '-' ? rest! : '';
  });

const seconds = (value: string): number => Number(/^(\d+)s?$/.exec(value)?.[1] ?? NaN);

const unit = unitFile(read('deploy/systemd/baton-worker.service'));
const compose = parse(read('deploy/docker-compose.yml'), { merge: true }) as {
  services: Record<
    string,
    {
      command?: string[];
      environment?: Record<string, string>;
      volumes?: string[];
      depends_on?: Record<string, { condition: string }>;
      stop_grace_period?: string;
      healthcheck?: { test: string[] };
    }
  >;
  volumes: Record<string, unknown>;
};
const docker = dockerInstructions(read('deploy/Dockerfile'));
const workers = Object.entries(compose.services).filter(([, s]) => s.command?.[0] === 'worker');

describe('deploy/: the systemd unit, compose file and Dockerfile', () => {
  it('the systemd unit starts the built CLI as a non-root user and lets the worker stop its own agents', () => {
    const service = unit.Service!;
    expect(service.User).toBeTruthy();
    expect(service.User).not.toBe('root');
    const [, script, command] = service.ExecStart!.split(/\s+/);
    expect(script!.endsWith(`/${packageJson.bin.baton.replace(/^\.\//, '')}`)).toBe(true);
    expect(command).toBe('worker');
    expect(service.EnvironmentFile).toBeTruthy();
    expect(service.Restart).toBe('on-failure');
    expect(service.KillSignal).toBe('SIGTERM');
    // SIGTERM to the worker alone: agents stopped by systemd directly would be recorded as failed.
    expect(service.KillMode).toBe('mixed');
    expect(service.NoNewPrivileges).toBe('yes');
    expect(seconds(service.TimeoutStopSec!)).toBeGreaterThanOrEqual(10);
    // What the env example names is what Baton reads.
    const example = read('deploy/systemd/worker.env.example');
    for (const name of ['BATON_REDIS_URL', 'ANTHROPIC_API_KEY', 'BATON_WORKER_CONCURRENCY'])
      expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
  });

  it.runIf(spawnSync('systemd-analyze', ['--version']).status === 0)(
    'systemd-analyze verify finds nothing to complain about in the unit',
    () => {
      // It checks every key and value, and that ExecStart's program exists: point it at this machine's node.
      const copy = join(tempDir('baton-unit-'), 'baton-worker.service');
      writeFileSync(
        copy,
        read('deploy/systemd/baton-worker.service').replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`),
      );
      const result = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
      expect(result.stderr.split('\n').filter((l) => l.includes('baton-worker.service'))).toEqual([]);
      expect(result.status).toBe(0);
    },
  );

  it('compose: Redis keeps its data and never evicts; two workers wait for it to be healthy and share the workspace path', () => {
    const redis = compose.services.redis!;
    expect(redis.command!.join(' ')).toMatch(/--appendonly yes/);
    expect(redis.command!.join(' ')).toMatch(/--maxmemory-policy noeviction/);
    expect(redis.healthcheck?.test.join(' ')).toMatch(/redis-cli ping/);
    expect(workers).toHaveLength(2);
    const workdir = docker.filter((i) => i.op === 'WORKDIR').at(-1)!.args;
    const shell = { REDIS_PASSWORD: 's3cret', ANTHROPIC_API_KEY: 'sk-ant-test' };
    expect(redis.command!.map((arg) => interpolate(arg, shell)).join(' ')).toMatch(/--requirepass s3cret/);
    for (const [, worker] of workers) {
      const redisUrl = new URL(interpolate(worker.environment!.BATON_REDIS_URL!, shell));
      expect([redisUrl.host, redisUrl.password]).toEqual(['redis:6379', 's3cret']);
      expect(interpolate(worker.environment!.ANTHROPIC_API_KEY!, shell)).toBe('sk-ant-test');
      expect(() => interpolate(worker.environment!.ANTHROPIC_API_KEY!, {})).toThrow(/ANTHROPIC_API_KEY/);
      expect(worker.depends_on?.redis?.condition).toBe('service_healthy');
      // The shared volume sits where the image runs Baton, at the same path in every container.
      expect(worker.volumes).toContain(`workspace:${workdir}`);
      expect(seconds(worker.stop_grace_period!)).toBe(seconds(unit.Service!.TimeoutStopSec!));
    }
    expect(Object.keys(compose.volumes)).toContain('workspace');
  });

  it('Dockerfile: copies files that exist and are not ignored, builds with scripts Baton has, runs the built CLI as a non-root user', () => {
    const ignored = read('deploy/Dockerfile.dockerignore')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => l.replace(/^\*\*\//, ''));
    const copies = docker.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      for (const source of copy.args.split(/\s+/).slice(0, -1)) {
        expect(existsSync(join(root, source)), `${source} exists`).toBe(true);
        expect(ignored, `${source} is not in the .dockerignore`).not.toContain(source.split('/')[0]);
      }
    }
    const from = docker.filter((i) => i.op === 'FROM').map((i) => i.args.split(/\s+/)[0]!);
    const engineMajor = Number(/\d+/.exec(packageJson.engines.node)![0]);
    for (const image of from) expect(Number(/^node:(\d+)/.exec(image)?.[1])).toBeGreaterThanOrEqual(engineMajor);
    const runs = docker
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join(' && ');
    for (const script of runs.matchAll(/npm run (\S+)/g))
      expect(packageJson.scripts[script[1]!], `npm script ${script[1]}`).toBeDefined();
    // Installed with --ignore-scripts: every production dependency with an install script is rebuilt.
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { hasInstallScript?: boolean; dev?: boolean; optional?: boolean }>;
    };
    const native = Object.entries(lock.packages)
      .filter(([, p]) => p.hasInstallScript && !p.dev && !p.optional)
      .map(([path]) => path.replace(/^.*node_modules\//, ''));
    expect(native.length).toBeGreaterThan(0);
    for (const name of native) expect(runs).toMatch(new RegExp(`npm rebuild [^&]*\\b${name}\\b`));
    const user = docker.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeTruthy();
    expect(user).not.toBe('root');
    const entrypoint = JSON.parse(docker.find((i) => i.op === 'ENTRYPOINT')!.args) as string[];
    expect(entrypoint.some((arg) => arg.endsWith(`/${packageJson.bin.baton.replace(/^\.\//, '')}`))).toBe(true);
    expect(JSON.parse(docker.find((i) => i.op === 'CMD')!.args)).toEqual(['worker']);
  });
});

const model = useScriptedModel({ rules: [], default: { hang: true } }, 'baton-deploy-');
describe.runIf(requireProgram('redis-server'))(
  'the stop timeouts in deploy/ leave a worker time to hand its agents back (real redis-server and claude)',
  () => {
    const redis = useRedisStore();
    it('SIGTERM: the worker stops its running agents, puts their jobs back on the queue and exits well within TimeoutStopSec', async () => {
      const env = model.home.cliEnv(model.url, {
        BATON_DATA_DIR: join(model.home.dir, 'data'),
        BATON_REDIS_URL: redis.server.url,
        BATON_PARALLEL_LIMIT: '4',
      });
      const workflow = join(model.home.dir, 'slow.yaml');
      writeFileSync(
        workflow,
        'version: 1\nname: slow\nphases:\n  - { id: work, agents: [{ id: task, count: 2, prompt: "Slow task {{index}}" }] }\n',
      );
      const worker = startCli(['worker', '--concurrency', '2'], { env });
      const run = startCli(['run', workflow], { env });
      const connection = new Redis(redis.server.url, { maxRetriesPerRequest: null });
      const queue = new Queue(AGENT_QUEUE, { connection });
      try {
        await waitFor(
          () => (worker.stderrSoFar().match(/▶/g)?.length ?? 0) >= 2 || undefined,
          60_000,
          'both agents to start',
        );
        // Both agents are waiting on the model: their claude processes are up.
        await waitFor(
          () => new Set(model.server.messageRequests().map((r) => r.sessionId)).size >= 2 || undefined,
          60_000,
          'both agents to ask the model',
        );
        const started = performance.now();
        worker.kill('SIGTERM');
        const { code } = await worker.output;
        const stopMs = performance.now() - started;
        expect(code).toBe(0);
        expect(stopMs).toBeLessThan(5000); // docs/scaling.md says "about a second"
        expect(stopMs).toBeLessThan(seconds(unit.Service!.TimeoutStopSec!) * 1000);
        const counts = await queue.getJobCounts();
        expect(counts.active).toBe(0);
        expect((counts.prioritized ?? 0) + (counts.waiting ?? 0)).toBe(2);
        // No agent process (nor anything it started) outlived its worker; the orchestrator lives on.
        // Agent processes only: the CLI run from source has tsx's esbuild service beside it, which
        // carries the test's environment too and comes and goes with tsx's transforms.
        expect(agentProcessesWithEnv(model.home.dir)).toEqual([]);
        expect(processesWithEnv(model.home.dir)).toContain(run.pid);
      } finally {
        worker.kill('SIGKILL');
        run.kill('SIGINT');
        await run.output;
        await queue.close();
        connection.disconnect();
      }
    }, 120_000);
  },
);
