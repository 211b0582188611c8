import { describe, expect, it } from 'vitest';
import { lockAnswer } from '../../../src/node/changes.js';
import { parseKubeletState, parseLivez } from '../../../src/node/state.js';

const b64 = (argv: string[]) => Buffer.from(argv.join('\0') + '\0').toString('base64');

describe("the scripts' markers, read in node/ only (apply gets typed answers)", () => {
  it("lock.sh's first line: held, a missing tool, an unsafe directory, an older kubemend, another run", () => {
    expect(lockAnswer('LOCKED')).toEqual({ kind: 'locked' });
    expect(lockAnswer('NOFLOCK')).toEqual({ kind: 'missing', tool: 'flock (util-linux)' });
    expect(lockAnswer('NOTIMEOUT')).toEqual({ kind: 'missing', tool: 'timeout (coreutils)' });
    expect(lockAnswer('NORUNDIR /run/kubemend is a symlink')).toEqual({
      kind: 'unsafe-dir',
      why: '/run/kubemend is a symlink',
    });
    expect(lockAnswer('LEGACY')).toEqual({ kind: 'legacy' });
    expect(lockAnswer('')).toEqual({ kind: 'held' });
    expect(lockAnswer('LOCKED extra')).toEqual({ kind: 'held' });
  });

  it("kubelet-state: systemd's values, the health answers, and the kubelet processes with the wanted argv", () => {
    const out = [
      'MainPID=812',
      'NRestarts=3',
      'ActiveState=active',
      'SubState=running',
      'Healthz=ok',
      'Secure=401',
      `PROC 900 ${b64(['/usr/bin/kubelet', '--config=/var/lib/kubelet/config.yaml'])}`,
      `PROC 901 ${b64(['/usr/bin/kubelet'])}`,
      'PROC 0 AAAA',
      'PROC x AAAA',
    ].join('\n');
    expect(parseKubeletState(out, ['--config=/var/lib/kubelet/config.yaml'])).toEqual({
      mainPid: 812,
      nRestarts: 3,
      active: 'active',
      sub: 'running',
      healthz: 'ok',
      secure: '401',
      kubeletPids: [900],
    });
    // MainPID is the kubelet: its processes are not asked for.
    expect(parseKubeletState(out).kubeletPids).toEqual([]);
    expect(parseKubeletState('')).toMatchObject({ mainPid: 0, active: '', healthz: '' });
  });

  it("apiserver-state's Livez=: curl's status, wget's body, or unchecked", () => {
    expect(parseLivez('ok HTTP200')).toEqual({ kind: 'answer', body: 'ok', status: 200, text: 'ok HTTP200' });
    expect(parseLivez('ok')).toEqual({ kind: 'answer', body: 'ok', text: 'ok' });
    expect(parseLivez('unchecked')).toEqual({ kind: 'unchecked', text: 'unchecked' });
    expect(parseLivez(' HTTP000')).toMatchObject({ body: '', status: 0 });
  });
});
