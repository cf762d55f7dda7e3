import { fileURLToPath } from 'node:url';
import { runCommand, withScriptedModel, type Output } from './commands.js';
import { type StoreOptions } from '../api/index.js';

const demoDir = fileURLToPath(new URL('../../examples/demo/', import.meta.url));

/** Talk to Claude only when a key is set and nothing redirects the API; otherwise use the scripted model. */
export function demoUsesClaude(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.ANTHROPIC_API_KEY) && !env.ANTHROPIC_BASE_URL;
}

/** `baton demo` (what `npm start` runs): the demo workflow with real `claude` agents. */
export async function demoCommand(options: StoreOptions & { json?: boolean }, output: Output): Promise<number> {
  const workflow = `${demoDir}workflow.yaml`;
  if (demoUsesClaude(process.env)) {
    output.stderr.write('Demo on Claude (ANTHROPIC_API_KEY is set).\n');
    return runCommand(workflow, options, output);
  }
  return withScriptedModel(`${demoDir}model-script.yaml`, (agentEnv, url) => {
    // With a key and a base URL both set, the base URL (a proxy, another model server) is why.
    const onClaude = process.env.ANTHROPIC_API_KEY
      ? 'unset ANTHROPIC_BASE_URL to run it on Claude'
      : 'set ANTHROPIC_API_KEY to run it on Claude';
    output.stderr.write(`Demo on the scripted model at ${url} (${onClaude}).\n`);
    return runCommand(workflow, { ...options, agentEnv }, output);
  });
}
