import { describe, expect, it } from 'vitest';
import { ErrorCodes, maxIdLength } from '../core/index.js';
import { generatedPhaseId, parsePlan } from './planning.js';

const planOf = (...ids: string[]) => ({
  text: '',
  structured: { done: false, tasks: ids.map((id) => ({ id, prompt: `do ${id}` })) },
});

describe("a planner's plan, as hostile input", () => {
  it('refuses task ids longer than an id may be (they become agent ids, file and branch names)', () => {
    const long = 'x'.repeat(300);
    expect(() => parsePlan(planOf('short', long), 'plan.g1', 20)).toThrow(
      expect.objectContaining({ code: ErrorCodes.planInvalid, message: expect.stringContaining('tasks.1.id') }),
    );
    const longest = 'y'.repeat(maxIdLength);
    expect(parsePlan(planOf(longest), 'plan.g1', 20).tasks[0]!.id).toBe(longest);
    // With the longest phase id and generation, a generated id still fits a file name (255 bytes).
    expect(`${generatedPhaseId('p'.repeat(maxIdLength), 50, longest)}.json`.length).toBeLessThan(255);
  });

  it('refuses more tasks than maxTasks, but not with done: true, whose tasks are never run', () => {
    expect(() => parsePlan(planOf('a', 'b', 'c'), 'plan.g1', 2)).toThrow(
      expect.objectContaining({ code: ErrorCodes.planTooLarge }),
    );
    const finished = { text: '', structured: { done: true, tasks: planOf('a', 'b', 'c').structured.tasks } };
    expect(parsePlan(finished, 'plan.g1', 2).done).toBe(true);
  });
});
