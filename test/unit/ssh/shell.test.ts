import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { shQuote, shellWord, sudoFailure, sudoWrap } from '../../../src/node/ssh/shell.js';

const run = promisify(execFile);

describe('shQuote', () => {
  it('round-trips any string through sh', async () => {
    for (const s of ["it's", 'a "b" $HOME `id` \\n', 'multi\nline', '', "''", '!*?[x]']) {
      const { stdout } = await run('sh', ['-c', `printf '%s' ${shQuote(s)}`]);
      expect(stdout).toBe(s);
    }
  });

  it('leaves plain words alone in messages', () => {
    expect(shellWord('/home/a/.ssh/known_hosts')).toBe('/home/a/.ssh/known_hosts');
    expect(shellWord('[10.0.0.1]:2222')).toBe("'[10.0.0.1]:2222'");
    expect(shellWord('/tmp/with space')).toBe("'/tmp/with space'");
  });
});

describe('sudo', () => {
  it('wraps the whole command as one sh -c argument', () => {
    expect(sudoWrap("cat a | grep 'x'")).toBe(`sudo -n sh -c 'cat a | grep '\\''x'\\'''`);
  });

  it("recognizes sudo's own refusals only", () => {
    expect(sudoFailure(1, 'sudo: a password is required\n')).toBe('password');
    expect(sudoFailure(1, 'sudo: a terminal is required to read the password; either use -S\n')).toBe(
      'password',
    );
    expect(sudoFailure(1, 'sudo: sorry, you must have a tty to run sudo\n')).toBe('tty');
    expect(sudoFailure(1, 'admin is not in the sudoers file.  This incident will be reported.\n')).toBe(
      'not-allowed',
    );
    expect(sudoFailure(1, 'Sorry, user admin is not allowed to run sudo on n1.\n')).toBe('not-allowed');
    expect(sudoFailure(2, 'sudo: a password is required\n')).toBeUndefined();
    expect(sudoFailure(1, 'grep: no such file\n')).toBeUndefined();
    expect(sudoFailure(0, '')).toBeUndefined();
  });
});
