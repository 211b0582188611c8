import { NodeError } from '../../errors.js';

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

/** The NodeError for sudo's refusal; the same words on both transports. */
export function sudoError(node: string, user: string, refusal: SudoFailure, stderr: string): NodeError {
  switch (refusal) {
    case 'password':
      return new NodeError(
        node,
        `user ${user} on node ${node} needs a password for sudo; kubemend runs \`sudo -n\` and never prompts`,
        'sudo-password',
        `allow NOPASSWD for ${user} in sudoers on ${node} (e.g. '${user} ALL=(ALL) NOPASSWD: ALL' in /etc/sudoers.d/), or connect as root`,
      );
    case 'tty':
      return new NodeError(
        node,
        `sudo on node ${node} requires a terminal (Defaults requiretty); kubemend runs commands without one`,
        'permission',
        `remove 'Defaults requiretty' for ${user} in sudoers on ${node}, or connect as root`,
      );
    case 'not-allowed':
      return new NodeError(
        node,
        `user ${user} on node ${node} may not use sudo: ${stderr.trim().split('\n')[0] ?? ''}`,
        'permission',
        `grant ${user} sudo rights (NOPASSWD) on ${node}, or connect as root`,
      );
  }
}

/** A command on one line, at most 120 characters, for messages. */
export function shorten(command: string): string {
  const oneLine = command.replace(/\s+/g, ' ').trim();
  return oneLine.length > 120 ? `${oneLine.slice(0, 117)}...` : oneLine;
}
