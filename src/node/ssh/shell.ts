/** POSIX sh quoting for remote commands and for the commands printed in fix messages. */

/** Always single-quoted: safe for any string, including quotes, newlines and `$`. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Quoted only when needed, for commands shown to a user (`ssh-keygen -R '[h]:2222'`). */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : shQuote(s);
}

/**
 * The command line to run as root through `sudo -n` (never prompts). `sh -c` gets the whole
 * command as one argument, so pipes, redirections and `;` keep working; stdin passes through sudo
 * unchanged, so commands fed by stdin (`cat > file`, `sh -s`) work the same way.
 */
export function sudoWrap(command: string): string {
  return `sudo -n sh -c ${shQuote(command)}`;
}

export type SudoFailure = 'password' | 'tty' | 'not-allowed';

/** Recognizes sudo's own refusal (as opposed to the wrapped command failing). */
export function sudoFailure(code: number | null, stderr: string): SudoFailure | undefined {
  if (code !== 1) return undefined;
  // sudo prints its refusal before running anything, so it is at the start of stderr.
  const head = stderr.slice(0, 4096);
  if (/^sudo: (a password is required|a terminal is required)/m.test(head)) return 'password';
  if (/^sudo: sorry, you must have a tty/m.test(head)) return 'tty';
  if (/is not in the sudoers file|is not allowed to run sudo|may not run sudo/m.test(head))
    return 'not-allowed';
  return undefined;
}
