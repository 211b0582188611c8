import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backupScript, STATE_DIR } from '../../../src/node/change-scripts.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Runs a change script here under sh, with kubemend's state directory moved into `root`. */
function run(script: string, root: string): { code: number; stdout: string } {
  try {
    const stdout = execFileSync('sh', ['-c', script.replaceAll(STATE_DIR, join(root, 'state'))], {
      encoding: 'utf8',
    });
    return { code: 0, stdout };
  } catch (e) {
    const err = e as { status: number; stdout: string };
    return { code: err.status, stdout: err.stdout };
  }
}

describe('backup script: the checks before anything is written', () => {
  let root = '';
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('refuses a target that is a symbolic link (exit 5): the link and its target stay as they were', () => {
    root = mkdtempSync(join(tmpdir(), 'km-backup-'));
    const target = join(root, 'managed.yaml');
    const link = join(root, 'kubelet.yaml');
    writeFileSync(target, 'kind: KubeletConfiguration\n', { mode: 0o640 });
    symlinkSync(target, link);
    const r = run(
      backupScript(
        'run1',
        [
          {
            path: link,
            action: 'modify',
            beforeSha256: sha('kind: KubeletConfiguration\n'),
            afterSha256: 'x',
            content: 'x',
          },
        ],
        {},
      ),
      root,
    );
    expect(r.code).toBe(5);
    expect(r.stdout).toMatch(new RegExp(`^LINK ${link} is a symbolic link to ${target}`));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('kind: KubeletConfiguration\n');
    expect(existsSync(join(root, 'state/backups/run1'))).toBe(false);
  });

  it('backs up a regular file with its mode and owner', () => {
    root = mkdtempSync(join(tmpdir(), 'km-backup-'));
    const file = join(root, 'config.yaml');
    writeFileSync(file, 'a: 1\n', { mode: 0o640 });
    execFileSync('mkdir', ['-p', join(root, 'state/backups')]);
    const r = run(
      backupScript(
        'run2',
        [{ path: file, action: 'modify', beforeSha256: sha('a: 1\n'), afterSha256: 'x', content: 'x' }],
        {
          id: 'run2',
        },
      ),
      root,
    );
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toContain('BACKED-UP');
    const dir = join(root, 'state/backups/run2');
    expect(readFileSync(join(dir, `0-${file.replaceAll('/', '_')}`), 'utf8')).toBe('a: 1\n');
    expect(readFileSync(join(dir, `0-${file.replaceAll('/', '_')}.stat`), 'utf8')).toMatch(/^640 /);
  });
});
