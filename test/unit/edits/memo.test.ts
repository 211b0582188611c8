import { describe, expect, it } from 'vitest';
import { memoEdit } from '../../../src/edits/memo.js';
import { EditError, result } from '../../../src/edits/result.js';

describe('an edit made once per distinct text and parameters (issue 23)', () => {
  it('the same result for the same input, an EditError replayed, a new input edited again', () => {
    let edits = 0;
    const upper = memoEdit((text: string, what: string) => {
      edits++;
      if (!text.includes(what)) throw new EditError(`no ${what}`);
      return result(text, text.replace(what, what.toUpperCase()));
    });
    expect(upper('a: b\n', 'b')).toEqual({ content: 'a: B\n', changed: true });
    expect(upper('a: b\n', 'b')).toEqual({ content: 'a: B\n', changed: true });
    expect(edits).toBe(1);
    expect(() => upper('a: c\n', 'b')).toThrow('no b');
    expect(() => upper('a: c\n', 'b')).toThrow(EditError);
    expect(edits).toBe(2);
    expect(upper('a: b\n', 'a')).toEqual({ content: 'A: b\n', changed: true });
    expect(edits).toBe(3);
  });
});
