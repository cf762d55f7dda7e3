import { describe, expect, it } from 'vitest';
import { random } from '../../test/support/random.js';
import { neutralizeControls } from './terminal-text.js';

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('neutralizeControls', () => {
  it('shows controls as escapes and keeps the rest of the text', () => {
    expect(neutralizeControls('a\u001b[2K\rb\u0007 \u009b2J \u202eok\tend\r\nnext')).toBe(
      'a\\u001b[2K\\rb\\u0007 \\u009b2J \\u202eok\tend\nnext',
    );
  });

  it('leaves any JSON document the same document, with no control left in it (500 seeded strings)', () => {
    const next = random(21);
    const alphabet = [
      'a',
      '"',
      '\\',
      '\n',
      '\r',
      '\t',
      '\u001b',
      '\u0000',
      '\u007f',
      '\u009b',
      '\u202e',
      '\u2069',
      'é',
      '😀',
    ];
    for (let i = 0; i < 500; i++) {
      const text = Array.from(
        { length: Math.floor(next() * 40) },
        () => alphabet[Math.floor(next() * alphabet.length)],
      ).join('');
      const shown = neutralizeControls(JSON.stringify({ text, [text]: [text] }));
      expect(shown).not.toMatch(controls);
      expect(JSON.parse(shown)).toEqual({ text, [text]: [text] });
    }
  });
});
