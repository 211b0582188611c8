/** The node session interface: the one outside effect every node operation goes through. */

export interface SessionOptions {
  /** TCP connect + SSH handshake + authentication, per hop (DESIGN: --connect-timeout, default 10). */
  connectTimeoutSec: number;
  /** --accept-new-host-keys: unknown host keys are appended to the known_hosts file (OpenSSH accept-new). */
  acceptNewHostKeys: boolean;
  /** Asks for a private key passphrase; undefined when there is no TTY. */
  askPassphrase?: (keyFile: string) => Promise<string>;
  /** For SSH_AUTH_SOCK; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where the default keys ~/.ssh/id_ed25519, id_ecdsa, id_rsa are looked for; default os.homedir(). */
  homeDir?: string;
}

export interface ExecOptions {
  /** Written to the command's stdin, which is then closed (stdin is closed at once without it). */
  stdin?: string;
  /** Bound on each of stdout and stderr (default 16 MiB). Past it the channel is closed: truncated. */
  maxBytes?: number;
  /** Kill the command after this long; exec then rejects with NodeError kind 'timeout'. */
  timeoutSec?: number;
  /** Default true: run through the node's `become` (sudo -n) unless the user is root. */
  asRoot?: boolean;
}

export interface ExecResult {
  /** Exit status; null when the command died from a signal or the output bound closed the channel. */
  code: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  /** The node sent more than the bound on a stream: the command was stopped (`overflow` says which stream). */
  truncated: boolean;
  overflow?: 'stdout' | 'stderr';
}

export interface NodeSession {
  readonly node: string;
  /** "SHA256:<base64 without padding>", as `ssh-keygen -l` prints it. */
  readonly hostKeyFingerprint: string;
  /**
   * Runs a command as the node's user, or via `sudo -n` when become=sudo (root user: no sudo).
   * A non-zero exit is a result, not an error. Throws NodeError: 'sudo-password' / 'permission'
   * when sudo refuses, 'timeout' past timeoutSec, 'unreachable' when the connection is lost.
   */
  exec(command: string, opts?: ExecOptions): Promise<ExecResult>;
  /**
   * Starts a command that keeps running while its stdin stays open (a lock holder such as
   * `flock … cat`). Resolves with the first line it prints; release() closes its stdin and waits for
   * it to end. When the connection drops, the command gets EOF and ends on the node by itself.
   */
  hold(command: string, opts?: HoldOptions): Promise<HeldCommand>;
  /** Closes the node connection and every jump hop. Idempotent. */
  close(): Promise<void>;
}

export interface HoldOptions {
  /** Bound on each of the holder's stdout and stderr (default 16 MiB); past it the session ends. */
  maxBytes?: number;
}

export interface HeldCommand {
  /** The first line the command printed (without the newline); '' if it ended silently. */
  firstLine: string;
  /** Whether the command is still running (false: it ended before or right after its first line). */
  running: boolean;
  /** stderr so far, for messages. */
  stderr(): string;
  /** Why the holder was stopped (it sent more than the bound; the session is gone), naming node and step. */
  failure?(): string | undefined;
  release(): Promise<void>;
}
