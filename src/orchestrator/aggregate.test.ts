import { describe, expect, it } from 'vitest';
import { voteResults } from './aggregate.js';
import { evaluateCondition } from './condition.js';

describe('vote aggregation', () => {
  it('puts the winner of a dotted field at that path, where a when: condition finds it', () => {
    const ballots = ['ship', 'ship', 'hold'].map((verdict, i) => ({
      agentId: `r.${i}`,
      output: { text: verdict, structured: { review: { verdict } } },
    }));
    const output = voteResults(ballots, 'review.verdict');
    expect(output.structured).toMatchObject({ review: { verdict: 'ship' } });
    expect(output.text).toBe('review.verdict = "ship" (2 of 3 votes)');
    expect(
      evaluateCondition({ phase: 'review', field: 'review.verdict', equals: 'ship' }, { status: 'succeeded', output })
        .holds,
    ).toBe(true);
  });

  it('a field named votes or tie holds the winner; the tally stays in details', () => {
    for (const field of ['votes', 'tie']) {
      const ballots = ['yes', 'yes', 'no'].map((value, i) => ({
        agentId: `r.${i}`,
        output: { text: value, structured: { [field]: value } },
      }));
      const output = voteResults(ballots, field);
      expect(output.structured).toMatchObject({ [field]: 'yes' });
      expect(evaluateCondition({ phase: 'review', field, equals: 'yes' }, { status: 'succeeded', output }).holds).toBe(
        true,
      );
      expect(output.details).toMatchObject({
        votes: [
          { value: 'yes', votes: 2 },
          { value: 'no', votes: 1 },
        ],
      });
    }
  });
});
