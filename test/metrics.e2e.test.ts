import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { scrapeServe } from './support/serve-metrics.js';
import { parsePrometheus, seriesValue } from './support/prometheus.js';
import { useScriptedModel } from './support/scripted-model.js';

const metricsSecret = 'sk-ant-metrics-secret-0123456789';
const model = useScriptedModel(
  {
    rules: [
      {
        match: { prompt: 'Say hi' },
        reply: { text: 'hi', usage: { input_tokens: 100, output_tokens: 7 } },
        sequencePer: 'session',
      },
    ],
    default: { text: 'OK' },
  },
  'baton-metrics-',
  // The agents' API key is a secret the metrics must never show; the scripted model takes it.
  metricsSecret,
);

describe('metrics that outlive a run', () => {
  it('baton serve counts the runs two separate baton run processes made, once, across its restarts; concurrent runs share no port', async () => {
    const secret = metricsSecret;
    const env = model.home.cliEnv(model.url, {
      BATON_DATA_DIR: join(model.home.dir, 'data'),
      BATON_ENABLE_METRICS: 'true',
      ANTHROPIC_API_KEY: secret,
    });
    const workflow = join(model.home.dir, 'hi.yaml');
    writeFileSync(
      workflow,
      'version: 1\nname: hi\nphases:\n  - id: greet\n    agents: [{ id: greeter, prompt: Say hi }]\n',
    );

    // Two runs at once, both serving their own metrics: each on a port of its own, neither fails.
    const runs = await Promise.all([runCli(['run', workflow], { env }), runCli(['run', workflow], { env })]);
    expect(runs.map((r) => r.code)).toEqual([0, 0]);
    const ports = runs.map((r) => new URL(/Metrics at (\S+)/.exec(r.stderr)![1]!).port);
    expect(new Set(ports).size).toBe(2);

    for (const restart of [1, 2]) {
      const text = await scrapeServe(env);
      const families = parsePrometheus(text);
      expect(seriesValue(families, 'baton_runs', { status: 'succeeded' }), `restart ${restart}`).toBe(2);
      expect(seriesValue(families, 'baton_agents', { status: 'succeeded' })).toBe(2);
      expect(seriesValue(families, 'baton_tokens_total', { phase: 'greet', kind: 'output' })).toBe(14);
      expect(seriesValue(families, 'baton_cost_usd_total')).toBeGreaterThan(0);
      expect(seriesValue(families, 'baton_active_agents')).toBe(0);
      expect(families.find((f) => f.name === 'baton_process_resident_memory_bytes')).toBeDefined();
      expect(text).not.toContain(secret);
    }
  });
});
