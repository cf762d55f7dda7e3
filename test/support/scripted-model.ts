import { afterAll, beforeAll } from 'vitest';
import { startModelServer, type ModelServer, type Script } from '../../src/model-server/index.js';
import { isolatedHome, TEST_API_KEY, type IsolatedHome } from './agent-env.js';

export interface ScriptedModel {
  server: ModelServer;
  url: string;
  home: IsolatedHome;
}

/**
 * A scripted model server and a throwaway HOME for one test file, started before its tests and
 * removed after. Read the fields inside tests (they are set by beforeAll).
 */
export function useScriptedModel(script: Script, homePrefix?: string, apiKey = TEST_API_KEY): ScriptedModel {
  const model = {} as ScriptedModel;
  beforeAll(async () => {
    // The key the isolated home's agents send (or the one a test gives them instead).
    const started = await startModelServer({ script, apiKey });
    Object.assign(model, { server: started.server, url: started.url, home: isolatedHome(homePrefix) });
  });
  afterAll(async () => {
    await model.server.close();
    model.home.remove();
  });
  return model;
}
