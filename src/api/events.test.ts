import { describe, expect, it } from 'vitest';
import { RunEvents } from '../orchestrator/index.js';
import { eventStream } from './events.js';

const types = async (stream: AsyncIterable<{ type: string }>): Promise<string[]> => {
  const seen: string[] = [];
  for await (const event of stream) seen.push(event.type);
  return seen;
};

describe('eventStream', () => {
  it('gives every iterator every event from the start, in order, also one started after the end', async () => {
    const events = new RunEvents();
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const stream = eventStream(events, done);
    const early = types(stream);
    events.emit('phase.started', { runId: 'r', phaseId: 'p' });
    const middle = types(stream);
    events.emit('phase.finished', { runId: 'r', phaseId: 'p', status: 'succeeded' });
    finish();
    const expected = ['phase.started', 'phase.finished'];
    expect(await early).toEqual(expected);
    expect(await middle).toEqual(expected);
    expect(await types(stream)).toEqual(expected);
  });

  it('ends every iterator with the run error after the events before it', async () => {
    const events = new RunEvents();
    let fail!: (error: Error) => void;
    const done = new Promise<void>((_, reject) => (fail = reject));
    const stream = eventStream(events, done);
    events.emit('phase.started', { runId: 'r', phaseId: 'p' });
    fail(new Error('boom'));
    for (let i = 0; i < 2; i++) {
      const seen: string[] = [];
      await expect(
        (async () => {
          for await (const event of stream) seen.push(event.type);
        })(),
      ).rejects.toThrow('boom');
      expect(seen).toEqual(['phase.started']);
    }
  });
});
