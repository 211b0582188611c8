/** SSH access to nodes: sessions (with jump hosts, host key checks, sudo), and bounded concurrency. */
export { openSession, withSession, DEFAULT_MAX_BYTES } from './session.js';
export { overflowText } from './session-parts.js';
export type { ExecOptions, ExecResult, HeldCommand, NodeSession, SessionOptions } from './types.js';
export { mapLimit, mapLimitSettled } from './concurrency.js';
export { terminalPassphrasePrompt } from './passphrase-prompt.js';
export { fingerprintSha256 } from './known-hosts.js';
