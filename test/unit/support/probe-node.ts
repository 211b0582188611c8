import type { ExecResult, NodeSession } from '../../../src/node/ssh/types.js';

/** A control plane that answers the probe script with scripted output, one reply per run. */
export function probeNode(replies: (string | Error)[]): NodeSession & { runs: string[][] } {
  const runs: string[][] = [];
  return {
    node: 'cp-1',
    hostKeyFingerprint: 'SHA256:cp',
    runs,
    exec(command: string): Promise<ExecResult> {
      runs.push([...command.matchAll(/ '(https:[^']*)'/g)].map((m) => m[1]!));
      const r = replies.shift() ?? new Error('no more replies');
      return r instanceof Error
        ? Promise.reject(r)
        : Promise.resolve({ code: 0, stdout: r, stderr: '', truncated: false });
    },
    hold: () => Promise.reject(new Error('not used')),
    close: () => Promise.resolve(),
  };
}
