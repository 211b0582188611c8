import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { KILL_ORPHANS_SCRIPT } from '../../../src/node/ssh/openssh-kill.js';

// What the script does on a node is shown in test/e2e/openssh.test.ts (a timed-out `sleep` is gone).
describe('the script that kills a timed-out command on the node', () => {
  it('is POSIX sh that shellcheck and dash accept', () => {
    const check = spawnSync('shellcheck', ['-s', 'sh', '-'], {
      input: KILL_ORPHANS_SCRIPT,
      encoding: 'utf8',
    });
    expect(check.error, 'shellcheck is installed by scripts/setup.sh').toBeUndefined();
    expect(check.stdout).toBe('');
    expect(check.status).toBe(0);
    const dash = spawnSync('dash', ['-n'], { input: KILL_ORPHANS_SCRIPT, encoding: 'utf8' });
    expect(dash.stderr).toBe('');
    expect(dash.status).toBe(0);
  });
});
