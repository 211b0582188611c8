// Every remote script, run here under dash with hostile paths: no value may ever become code.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gatherArgs } from '../../../src/node/gather-script.js';
import { parseFacts } from '../../../src/node/gather-parse.js';
import {
  scriptCommand,
  scriptEnv,
  scriptFailure,
  scriptText,
  type ScriptName,
} from '../../../src/node/remote.js';
import { shQuote } from '../../../src/node/ssh/shell.js';
import { SCRIPTS } from '../support/scripts.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

let root = '';
let state = '';
/** Where the node lock lives, moved under the test root like the state directory (/run/kubemend). */
let runDir = '';
let bin = '';

/** File names an attacker could make a kubelet or a unit refer to. */
// (The canaries are relative: a script runs with the test root as its working directory.)
const hostileNames = (_root: string) => [
  "it's $(touch PWNED1) `touch PWNED2`.yaml",
  'semi; touch PWNED3; x.conf',
  'new\nline.yaml',
  '-rf',
  '*.yaml',
  '[ab]?',
  '"double" quoted.json',
  '$HOME ${IFS} $((1+1)).env',
];

const canaries = () =>
  ['PWNED1', 'PWNED2', 'PWNED3'].filter(
    (c) => existsSync(join(root, c)) || existsSync(join(process.cwd(), c)),
  );

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a script as a node would (dash), kubemend's state and lock directories moved under the test root. */
function run(name: ScriptName, args: string[], stdin = '', proc?: string): Run {
  let text = scriptText(name);
  // A /proc of the test's own processes only: the machine's (a lab's apiservers) stay out of it.
  if (proc) text = text.replace('\nKUBE_PROC=/proc\n', `\nKUBE_PROC=${proc}\n`);
  const r = spawnSync('dash', ['-c', text, `kubemend-${name}`, ...args], {
    input: stdin,
    cwd: root,
    encoding: 'utf8',
    env: {
      PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`,
      HOME: root,
      // As scriptCommand sets them, the directories moved under the test root.
      ...(Object.keys(scriptEnv(name)).length
        ? { KUBEMEND_STATE_DIR: state, KUBEMEND_LOCK_DIR: runDir }
        : {}),
    },
    timeout: 20_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A directory beside the hostile names: `odd dir/` with spaces, as on a real node. */
const target = (name: string) => join(root, 'odd dir', name);

/** A CA certificate and key for issue-cert, at the paths given (which may be hostile names). */
function makeCa(ca = join(root, 'ca.crt'), caKey = join(root, 'ca.key')) {
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', ca];
  execFileSync('openssl', [...args, '-subj', '/CN=test-ca', '-days', '2'], { stdio: 'ignore' });
  return { ca, caKey };
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'km-scripts-'));
  state = join(root, 'state');
  runDir = join(root, 'run', 'kubemend');
  mkdirSync(join(root, 'run'));
  bin = join(root, 'bin');
  mkdirSync(join(state, 'backups'), { recursive: true });
  mkdirSync(join(root, 'odd dir'));
  mkdirSync(bin);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('backup, write and restore with hostile paths', () => {
  it('backs up, writes atomically and restores every file, and runs none of its name', () => {
    const names = hostileNames(root);
    const files = names.map((n, i) => ({ path: target(n), old: `old ${i}\n`, neu: `new ${i}\n` }));
    for (const f of files) writeFileSync(f.path, f.old, { mode: 0o640 });
    const metadata = JSON.stringify({ id: 'r1', files: files.map((f) => f.path) });

    const b = run('backup', ['r1', ...files.flatMap((f) => ['modify', f.path, sha(f.old)])], metadata);
    expect(b.stderr).toBe('');
    expect(b).toMatchObject({ code: 0 });
    expect(b.stdout).toMatch(/^time \d+$/m);
    const dir = join(state, 'backups', 'r1');
    files.forEach((f, i) => expect(readFileSync(join(dir, `${i}.orig`), 'utf8')).toBe(f.old));
    expect(readFileSync(join(dir, 'metadata.json'), 'utf8')).toBe(metadata);
    expect(statSync(dir).mode & 0o777).toBe(0o700);

    for (const f of files) {
      const w = run('write-file', ['r1', 'modify', f.path, sha(f.old), sha(f.neu)], f.neu);
      expect(w.stderr).toBe('');
      expect(w.code).toBe(0);
      expect(readFileSync(f.path, 'utf8')).toBe(f.neu);
      expect(statSync(f.path).mode & 0o777).toBe(0o640);
    }
    // Only the files themselves (no temporary file left beside them, nothing else created).
    expect(readdirSync(join(root, 'odd dir')).sort()).toEqual(names.slice().sort());

    const r = run('restore', [
      'r1',
      ...files.flatMap((f, i) => ['modified', f.path, sha(f.old), `${i}.orig`, '640', '0:0']),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(files.map((_, i) => `restored ${i}\n`).join(''));
    for (const f of files) expect(readFileSync(f.path, 'utf8')).toBe(f.old);
    // Restoring again touches nothing: every file already is as in the backup.
    const again = run('restore', [
      'r1',
      ...files.flatMap((f, i) => ['modified', f.path, sha(f.old), `${i}.orig`, '640', '0:0']),
    ]);
    expect(again.stdout).toBe(files.map((_, i) => `unchanged ${i}\n`).join(''));
    expect(readdirSync(join(root, 'odd dir')).sort()).toEqual(names.slice().sort());
    expect(canaries()).toEqual([]);
  });

  it('creates a file with a hostile name and removes it on restore', () => {
    const path = target(hostileNames(root)[0]!);
    const content = 'kind: KubeletConfiguration\n';
    expect(run('backup', ['r2', 'create', path, '-'], '{}').code).toBe(0);
    expect(run('write-file', ['r2', 'create', path, '-', sha(content)], content).code).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe(content);
    expect(statSync(path).mode & 0o777).toBe(0o644);
    expect(run('restore', ['r2', 'created', path, sha(content), '-', '-', '-']).code).toBe(0);
    expect(existsSync(path)).toBe(false);
    expect(canaries()).toEqual([]);
  });

  it('removes on restore the directories the write made for a created file, and none that existed', () => {
    // Two levels missing (kubelet.service.d under a unit directory), named as hostile as a path can be.
    const made = join(root, 'odd dir', hostileNames(root)[0]!);
    const path = join(made, 'new\nline.service.d', '90-kubemend.conf');
    const content = '[Service]\n';
    expect(run('backup', ['r7', 'create', path, '-'], '{}').code).toBe(0);
    expect(readFileSync(join(state, 'backups', 'r7', '0.dirs'), 'utf8')).toBe(`${made}\n`);
    expect(run('write-file', ['r7', 'create', path, '-', sha(content)], content).code).toBe(0);
    const r = run('restore', ['r7', 'created', path, sha(content), '0.dirs', '-', '-']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('removed 0\n');
    expect(existsSync(made)).toBe(false);
    expect(existsSync(join(root, 'odd dir'))).toBe(true);

    // A directory that existed stays, even when it is empty after the restore.
    const kept = join(root, 'odd dir', 'kubelet.service.d');
    mkdirSync(kept);
    const inKept = join(kept, '90-kubemend.conf');
    expect(run('backup', ['r8', 'create', inKept, '-'], '{}').code).toBe(0);
    expect(existsSync(join(state, 'backups', 'r8', '0.dirs'))).toBe(false);
    expect(run('write-file', ['r8', 'create', inKept, '-', sha(content)], content).code).toBe(0);
    expect(run('restore', ['r8', 'created', inKept, sha(content), '0.dirs', '-', '-']).code).toBe(0);
    expect(existsSync(inKept)).toBe(false);
    expect(existsSync(kept)).toBe(true);

    // A made directory that something else has put a file in since is left with that file.
    expect(run('backup', ['r9', 'create', path, '-'], '{}').code).toBe(0);
    expect(run('write-file', ['r9', 'create', path, '-', sha(content)], content).code).toBe(0);
    writeFileSync(join(made, 'admin.conf'), 'x\n');
    expect(run('restore', ['r9', 'created', path, sha(content), '0.dirs', '-', '-']).code).toBe(0);
    expect(existsSync(path)).toBe(false);
    expect(readFileSync(join(made, 'admin.conf'), 'utf8')).toBe('x\n');
    expect(canaries()).toEqual([]);
  });
  it('refuses a stale file, a symbolic link and a file to create that exists, writing nothing', () => {
    const path = target(hostileNames(root)[1]!);
    writeFileSync(path, 'a: 1\n');
    const stale = run('backup', ['r3', 'modify', path, sha('a: 2\n')], '{}');
    expect(stale.code).not.toBe(0);
    expect(scriptFailure(stale.stderr)).toEqual({
      reason: 'stale',
      message: `${path} changed since the plan was made`,
    });
    expect(run('backup', ['r3', 'create', path, '-'], '{}').stderr).toMatch(/^KMFAIL exists /m);
    const link = target('link.yaml');
    symlinkSync(path, link);
    const l = run('backup', ['r3', 'modify', link, sha('a: 1\n')], '{}');
    expect(scriptFailure(l.stderr)?.reason).toBe('link');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(existsSync(join(state, 'backups', 'r3'))).toBe(false);
    expect(readFileSync(path, 'utf8')).toBe('a: 1\n');
  });

  it('asks for room for the files themselves, not a fixed amount', () => {
    const path = target('big.yaml');
    writeFileSync(path, 'x'.repeat(3 * 1024 * 1024));
    // df that reports 2 MiB free: too little for a 3 MiB file, enough for the old fixed 1 MiB.
    writeFileSync(
      join(bin, 'df'),
      '#!/bin/sh\necho "Filesystem 1024-blocks Used Available"\necho "fake 9 9 2048 x"\n',
    );
    chmodSync(join(bin, 'df'), 0o755);
    const r = run('backup', ['r4', 'modify', path, sha('x'.repeat(3 * 1024 * 1024))], '{}');
    expect(scriptFailure(r.stderr)).toMatchObject({ reason: 'nospace' });
    expect(scriptFailure(r.stderr)?.message).toMatch(/has 2048 KiB free, kubemend needs 3136 KiB/);
    expect(existsSync(join(state, 'backups', 'r4'))).toBe(false);
    // A small file fits in the same 2 MiB.
    writeFileSync(path, 'small\n');
    expect(run('backup', ['r5', 'modify', path, sha('small\n')], '{}').code).toBe(0);
  });

  it('makes the state directory only with a backup, and takes it away again when the backup fails', () => {
    rmSync(state, { recursive: true });
    const path = target('config.yaml');
    writeFileSync(path, 'x'.repeat(4096));
    writeFileSync(
      join(bin, 'df'),
      '#!/bin/sh\necho "Filesystem 1024-blocks Used Available"\necho "fake 9 9 1 x"\n',
    );
    chmodSync(join(bin, 'df'), 0o755);
    const full = run('backup', ['r13', 'modify', path, sha('x'.repeat(4096))], '{}');
    expect(scriptFailure(full.stderr)?.reason).toBe('nospace');
    expect(existsSync(state)).toBe(false);
    rmSync(join(bin, 'df'));
    expect(run('backup', ['r13', 'modify', path, sha('x'.repeat(4096))], '{}').code).toBe(0);
    for (const d of [state, join(state, 'backups'), join(state, 'backups', 'r13')])
      expect(statSync(d).mode & 0o7777).toBe(0o700);
  });

  it('never renames a file into place whose mode or owner could not be set', () => {
    const path = target('config.yaml');
    writeFileSync(path, 'old\n', { mode: 0o600 });
    writeFileSync(join(bin, 'chown'), '#!/bin/sh\necho "chown: operation not permitted" >&2\nexit 1\n');
    chmodSync(join(bin, 'chown'), 0o755);
    const w = run('write-file', ['r6', 'modify', path, sha('old\n'), sha('new\n')], 'new\n');
    expect(scriptFailure(w.stderr)?.reason).toBe('write');
    expect(readFileSync(path, 'utf8')).toBe('old\n');
    expect(readdirSync(join(root, 'odd dir'))).toEqual(['config.yaml']);
    // The same for a restore: the backup copy is not put in place with the wrong owner.
    mkdirSync(join(state, 'backups', 'r6'));
    writeFileSync(join(state, 'backups', 'r6', '0.orig'), 'orig\n');
    const r = run('restore', ['r6', 'modified', path, sha('orig\n'), '0.orig', '600', '0:0']);
    expect(scriptFailure(r.stderr)?.reason).toBe('restore');
    expect(readFileSync(path, 'utf8')).toBe('old\n');
    expect(readdirSync(join(root, 'odd dir'))).toEqual(['config.yaml']);
  });

  it('refuses content that does not match its sha256, leaving the target as it was', () => {
    const path = target('config.yaml');
    writeFileSync(path, 'old\n');
    const w = run(
      'write-file',
      ['r7', 'modify', path, sha('old\n'), sha('what the plan said\n')],
      'something else\n',
    );
    expect(scriptFailure(w.stderr)?.reason).toBe('write');
    expect(readFileSync(path, 'utf8')).toBe('old\n');
    expect(readdirSync(join(root, 'odd dir'))).toEqual(['config.yaml']);
  });
});

describe('the inflight record, the journal and the lock', () => {
  it('clears the inflight record only for the run it belongs to', () => {
    const record = JSON.stringify({ runId: 'run-a', files: [], restarts: [] });
    expect(run('inflight-write', [], record).code).toBe(0);
    expect(run('inflight-read', []).stdout).toBe(record);
    const other = run('inflight-clear', ['run-b']);
    expect(scriptFailure(other.stderr)?.reason).toBe('other-run');
    expect(existsSync(join(state, 'inflight.json'))).toBe(true);
    expect(run('inflight-clear', ['run-a']).code).toBe(0);
    expect(existsSync(join(state, 'inflight.json'))).toBe(false);
    expect(run('inflight-read', [])).toMatchObject({ code: 0, stdout: '' });
  });

  it('appends a journal line holding quotes, $(…) and newlines as data', () => {
    mkdirSync(join(state, 'backups', 'r8'));
    const line = JSON.stringify({ path: hostileNames(root)[0], note: 'a\nb' });
    expect(run('journal-append', ['r8', line]).code).toBe(0);
    expect(readFileSync(join(state, 'backups', 'r8', 'journal.jsonl'), 'utf8')).toBe(`${line}\n`);
    // A run id is a directory name: one that climbs out is ignored.
    expect(run('journal-append', ['../..', line]).code).toBe(0);
    expect(canaries()).toEqual([]);
  });

  it('holds the lock until stdin ends and records its owner as given', () => {
    const owner = JSON.stringify({ runId: 'r9', by: 'root@$(touch PWNED1)' });
    const r = run('lock', [owner]);
    expect(r.stdout).toBe('LOCKED\n');
    expect(readFileSync(join(runDir, 'lock.owner'), 'utf8')).toBe(`${owner}\n`);
    expect(run('lock-owner', []).stdout).toBe(`${owner}\n`);
    expect(canaries()).toEqual([]);
  });

  it('keeps the lock in a directory of its own (mode 700) and writes nothing in the state directory', () => {
    rmSync(state, { recursive: true });
    expect(run('lock', ['{}']).stdout).toBe('LOCKED\n');
    expect(statSync(runDir).mode & 0o7777).toBe(0o700);
    expect(readdirSync(runDir).sort()).toEqual(['lock', 'lock.owner']);
    // No /var/lib/kubemend, no backups directory: a node kubemend does not change keeps no trace.
    expect(existsSync(state)).toBe(false);
    expect(run('lock', ['{}']).stdout).toBe('LOCKED\n');
  });

  it('refuses a lock directory another user could have made: a link, a FIFO, a file, a wrong mode or owner', () => {
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o777 });
    const cases: [string, () => void, RegExp][] = [
      ['link', () => symlinkSync(elsewhere, runDir), /is a symbolic link \(to .*elsewhere\)/],
      ['fifo', () => execFileSync('mkfifo', [runDir]), /is not a directory/],
      ['file', () => writeFileSync(runDir, ''), /is not a directory/],
      [
        'mode',
        () => {
          mkdirSync(runDir);
          chmodSync(runDir, 0o777);
        },
        /has owner uid \d+ and mode 777, not uid \d+ and mode 700/,
      ],
    ];
    // Owned by another user: only root can make that here.
    if (process.getuid?.() === 0)
      cases.push([
        'owner',
        () => {
          mkdirSync(runDir);
          chmodSync(runDir, 0o700);
          execFileSync('chown', ['65534', runDir]);
        },
        /has owner uid 65534 and mode 700, not uid 0 and mode 700/,
      ]);
    for (const [what, plant, why] of cases) {
      rmSync(runDir, { recursive: true, force: true });
      plant();
      const r = run('lock', ['{"runId":"r1"}']);
      expect(r.stdout, what).toMatch(/^NORUNDIR /);
      expect(r.stdout, what).toMatch(why);
      expect(r.stdout.split('\n').length, what).toBe(2);
      expect(r.code, what).not.toBe(0);
      // Nothing was opened or written through the planted name.
      expect(readdirSync(elsewhere), what).toEqual([]);
    }
    // Where it cannot be made at all (here: /run is not a directory), the reason says so.
    rmSync(join(root, 'run'), { recursive: true });
    writeFileSync(join(root, 'run'), '');
    expect(run('lock', ['{}']).stdout).toMatch(
      /^NORUNDIR \S+ cannot be created by uid \d+ \(kubemend needs root on the node\)\n$/,
    );
  });

  it("holds an older kubemend's lock where one exists, and never creates it", () => {
    chmodSync(state, 0o700);
    const legacy = join(state, 'lock');
    writeFileSync(legacy, '');
    writeFileSync(join(state, 'lock.owner'), '{"runId":"old-run","tool":"kubemend 0.0.9"}\n');
    const holder = spawn('flock', [legacy, 'sleep', '30'], { stdio: 'ignore' });
    try {
      const held = () => spawnSync('flock', ['-n', legacy, 'true']).status !== 0;
      for (let i = 0; i < 100 && !held(); i++) spawnSync('sleep', ['0.05']);
      expect(run('lock', ['{}']).stdout).toBe('LEGACY\n');
      expect(run('lock-owner', ['legacy']).stdout).toBe('{"runId":"old-run","tool":"kubemend 0.0.9"}\n');
      // A state directory another user can enter is not as kubemend left it: its lock does not count.
      chmodSync(state, 0o755);
      expect(run('lock', ['{}']).stdout).toBe('LOCKED\n');
    } finally {
      holder.kill();
    }
    chmodSync(state, 0o700);
    rmSync(legacy);
    expect(run('lock', ['{}']).stdout).toBe('LOCKED\n');
    expect(existsSync(legacy)).toBe(false);
  });

  it('lists backups as base64 lines and prints a file with a hostile name', () => {
    mkdirSync(join(state, 'backups', 'r10'));
    writeFileSync(join(state, 'backups', 'r10', 'metadata.json'), '{"id":"r10"}');
    mkdirSync(join(state, 'backups', 'r 11\n$(x)'));
    writeFileSync(join(state, 'backups', 'r 11\n$(x)', 'metadata.json'), '{"id":"r11"}');
    const lines = run('list-backups', []).stdout.trim().split('\n');
    expect(lines.map((l) => l.split(' ').map((f) => Buffer.from(f, 'base64').toString()))).toEqual([
      ['r 11\n$(x)', '{"id":"r11"}'],
      ['r10', '{"id":"r10"}'],
    ]);
    const path = target(hostileNames(root)[0]!);
    writeFileSync(path, 'content\n');
    expect(run('read-file', [path]).stdout).toBe('content\n');
    expect(run('read-file', ['-n']).code).not.toBe(0);
    expect(canaries()).toEqual([]);
  });

  it('read-file tells a file that is not there (rollback: a created file already gone) from one it cannot read', () => {
    const gone = run('read-file', [target('gone.conf')]);
    expect(gone.code).toBe(1);
    expect(scriptFailure(gone.stderr)?.reason).toBe('absent');
    symlinkSync(target('nowhere'), target('dangling.conf'));
    const dangling = run('read-file', [target('dangling.conf')]);
    expect(dangling.code).not.toBe(0);
    expect(scriptFailure(dangling.stderr)?.reason).not.toBe('absent');
  });
});

describe('the health scripts pass their URL as one argument', () => {
  const shim = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };

  it('kubelet-state: systemctl and curl see the URL as it is', () => {
    shim('systemctl', 'echo MainPID=42; echo NRestarts=0; echo ActiveState=active; echo SubState=running');
    shim('curl', `for a; do printf '%s\\n' "$a"; done > ${root}/curl.args; printf ok`);
    const url = 'http://[::1]:10248/healthz?$(touch PWNED1)';
    const r = run('kubelet-state', [url]);
    expect(r.stdout).toContain('MainPID=42\n');
    expect(r.stdout).toContain('Healthz=ok\n');
    expect(readFileSync(join(root, 'curl.args'), 'utf8').split('\n')).toContain(url);
    expect(run('kubelet-state', ['']).stdout).toContain('Healthz=unchecked');
    expect(canaries()).toEqual([]);
  });

  /** A process whose comm is `name` (sleep under that name) and its argv, with what PROC line `out` has for it. */
  const named = (name: string) => {
    const exe = join(bin, name);
    execFileSync('cp', ['/bin/sleep', exe]);
    const p = spawn(exe, ['30', '0.5'], { stdio: 'ignore' });
    const comm = () => readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim();
    for (let i = 0; i < 200 && comm() !== name.slice(0, 15); i++) execFileSync('sleep', ['0.01']);
    const argvIn = (out: string) => {
      const line = out.split('\n').find((l) => l.startsWith(`PROC ${p.pid} `));
      return line === undefined
        ? undefined
        : Buffer.from(line.split(' ')[2] ?? '', 'base64')
            .toString()
            .split('\0');
    };
    return { exe, argvIn, pid: p.pid ?? 0, kill: () => p.kill() };
  };

  it('apiserver-state: every kube-apiserver process with its argv, and the livez answer', () => {
    shim('curl', `printf 'ok HTTP200'`);
    const p = named('kube-apiserver');
    const proc = join(root, 'proc');
    mkdirSync(join(proc, String(p.pid)), { recursive: true });
    for (const f of ['comm', 'status', 'cmdline', 'cgroup'])
      symlinkSync(`/proc/${p.pid}/${f}`, join(proc, String(p.pid), f));
    try {
      const out = run('apiserver-state', ['https://127.0.0.1:6443/livez'], '', proc).stdout;
      expect(out).toMatch(/^Livez=ok HTTP200$/m);
      expect(p.argvIn(out)).toEqual([p.exe, '30', '0.5', '']);
    } finally {
      p.kill();
    }
  });

  it('kubelet-state without healthz: the secure port status over TLS, and the processes of the name given', () => {
    shim('systemctl', 'echo MainPID=42; echo NRestarts=0; echo ActiveState=active; echo SubState=running');
    shim('curl', `for a; do printf '%s\\n' "$a"; done > ${root}/curl.args; printf 401`);
    const p = named('km-kubelet-t');
    try {
      const secure = 'https://127.0.0.1:10250/healthz?$(touch PWNED1)';
      const out = run('kubelet-state', ['', secure, 'km-kubelet-t']).stdout;
      expect(out).toContain('Healthz=unchecked\n');
      expect(out).toMatch(/^Secure=401$/m);
      const curlArgs = readFileSync(join(root, 'curl.args'), 'utf8').split('\n');
      expect(curlArgs).toContain(secure);
      expect(curlArgs).toContain('-gsk');
      // Not listed: root or not, a process outside kubelet.service is not the kubelet
      // (test/unit/node/proc-identity.test.ts lists the ones that are).
      expect(p.argvIn(out)).toBeUndefined();
      // Not asked: no Secure line, no process listed; a name that is shell code lists nothing and runs nothing.
      const quiet = run('kubelet-state', ['', '', '']).stdout;
      expect(quiet).not.toMatch(/^(Secure=|PROC )/m);
      expect(run('kubelet-state', ['', '', '$(touch PWNED2)']).stdout).not.toMatch(/^PROC /m);
      expect(canaries()).toEqual([]);
    } finally {
      p.kill();
    }
  });

  it('what a health port answers stays one bounded line: it cannot add a process, a status or a line', () => {
    shim('systemctl', 'echo MainPID=42; echo NRestarts=0; echo ActiveState=active; echo SubState=running');
    const forged = `PROC 31337 ${Buffer.from('/usr/bin/kubelet\0--config=/etc/kubernetes/kubelet.yaml\0').toString('base64')}`;
    // A real newline, then a backslash-n that echo under dash would turn into one, then 1 MiB.
    shim(
      'curl',
      `printf 'ok\\n%s\\nSecure=200\\n' '${forged}'; printf 'ok\\\\n${forged}'; head -c 1048576 /dev/zero | tr '\\0' x`,
    );
    for (const args of [
      ['http://127.0.0.1:10248/healthz', '', 'kubelet'],
      ['', 'https://127.0.0.1:10250/healthz', 'kubelet'],
    ]) {
      const out = run('kubelet-state', args).stdout;
      expect(out).not.toMatch(/^PROC 31337 /m);
      expect(out.match(/^(Healthz|Secure)=/gm)?.length).toBe(args[0] ? 1 : 2);
      expect(out.split('\n').every((l) => l.length <= 200 || l.startsWith('PROC '))).toBe(true);
    }
    expect(run('kubelet-state', ['http://127.0.0.1:10248/healthz', '', '']).stdout).toMatch(
      /^Healthz=okPROC 31337 /m,
    );

    shim('curl', `printf 'x\\n%s\\nok' '${forged.replace('31337', '4242')}'; printf ' HTTP200'`);
    const api = run('apiserver-state', ['https://127.0.0.1:6443/livez']).stdout;
    expect(api).not.toMatch(/^PROC 4242 /m);
    expect(api).toMatch(/^Livez=.*ok HTTP200$/m);
    expect(api.match(/^Livez=/gm)?.length).toBe(1);
  });

  it('kubelet-journal takes only a number of the node clock', () => {
    shim('journalctl', `for a; do printf '%s\\n' "$a"; done`);
    expect(run('kubelet-journal', ['1700000000']).stdout).toContain('@1700000000\n');
    expect(run('kubelet-journal', ['1; touch PWNED1']).stdout).toBe('');
    expect(canaries()).toEqual([]);
  });

  it('restart-kubelet reloads units only when asked', () => {
    shim('systemctl', `echo "$*" >> ${root}/systemctl.log`);
    expect(run('restart-kubelet', ['daemon-reload']).code).toBe(0);
    expect(run('restart-kubelet', ['no-reload']).code).toBe(0);
    expect(readFileSync(join(root, 'systemctl.log'), 'utf8')).toBe(
      'daemon-reload\nrestart kubelet\nrestart kubelet\n',
    );
  });
});

describe('issue-cert with hostile paths', () => {
  it('makes a key and a certificate signed by the CA, at exactly the paths given', () => {
    const { ca, caKey } = makeCa(
      join(root, 'odd dir', 'ca $(touch PWNED1).crt'),
      join(root, 'odd dir', 'ca `touch PWNED2`.key'),
    );
    const crt = target('client; touch PWNED3.crt');
    const key = target("client's.key");
    const r = run('issue-cert', [
      'r11',
      crt,
      key,
      ca,
      caKey,
      '/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client',
      '365',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^issued [0-9a-f]{64} [0-9a-f]{64}$/m);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    execFileSync('openssl', ['verify', '-CAfile', ca, crt], { stdio: 'ignore' });
    // Issuing again never overwrites key material.
    expect(scriptFailure(run('issue-cert', ['r12', crt, key, ca, caKey, '/CN=x', '1']).stderr)?.reason).toBe(
      'exists',
    );
    expect(canaries()).toEqual([]);
  });
});

describe('the gather script takes its paths as arguments', () => {
  it('reads files with hostile names and runs none of them', () => {
    const paths = hostileNames(root)
      .filter((n) => !n.includes('\n')) // the gather output is line-framed (documented)
      .map((n) => {
        writeFileSync(target(n), `content of ${n}\n`);
        return target(n);
      });
    const r = run('gather', gatherArgs({ extraFiles: paths, extraKeys: paths, extraConfigs: paths }));
    const facts = parseFacts(r.stdout);
    expect(facts.complete).toBe(true);
    for (const p of paths)
      expect(facts.files.get(p)?.content).toBe(`content of ${p.slice(p.lastIndexOf('/') + 1)}\n`);
    expect(canaries()).toEqual([]);
  });
});

describe('scriptCommand: the one way a script and its values become a command line', () => {
  it('survives the login shell, and sudo sh -c on top of it, with every value intact', () => {
    const args = [...hostileNames(root), '', "'", '\\', '\n'];
    const shim = join(bin, 'args');
    writeFileSync(shim, '#!/bin/sh\n');
    // read-file prints its one argument's file: use a script that echoes its arguments instead.
    const command = scriptCommand('read-file', args).replace(
      shQuote(scriptText('read-file')),
      shQuote('for a; do printf "%s\\0" "$a"; done'),
    );
    const direct = spawnSync('sh', ['-c', command], { cwd: root, encoding: 'utf8' }).stdout;
    const viaSudo = spawnSync('sh', ['-c', `sh -c ${shQuote(command)}`], {
      cwd: root,
      encoding: 'utf8',
    }).stdout;
    expect(direct.split('\0').slice(0, -1)).toEqual(args);
    expect(viaSudo.split('\0').slice(0, -1)).toEqual(args);
    expect(canaries()).toEqual([]);
  });

  it('no script text holds a value: every one is a shipped file', () => {
    expect(scriptCommand('node-time')).toBe(`sh -c ${shQuote(scriptText('node-time'))} kubemend-node-time`);
  });

  it("kubemend's state and lock directories come on the command line, never in a script's text", () => {
    for (const name of SCRIPTS) {
      const code = scriptText(name)
        .split('\n')
        .filter((l) => !/^\s*#/.test(l))
        .join('\n');
      expect(code, name).not.toMatch(/\/var\/lib\/kubemend|\/run\/kubemend/);
    }
    expect(scriptCommand('inflight-read')).toBe(
      `KUBEMEND_STATE_DIR='/var/lib/kubemend' KUBEMEND_LOCK_DIR='/run/kubemend' sh -c ${shQuote(scriptText('inflight-read'))} kubemend-inflight-read`,
    );
  });

  it("the command line's directory wins over one the node's environment holds; without one a script stops", () => {
    const planted = join(root, 'planted');
    mkdirSync(planted);
    writeFileSync(join(planted, 'inflight.json'), '{"runId":"planted"}');
    writeFileSync(join(state, 'inflight.json'), '{"runId":"ours"}');
    const command = scriptCommand('inflight-read').replace(shQuote('/var/lib/kubemend'), shQuote(state));
    const r = spawnSync('sh', ['-c', command], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, KUBEMEND_STATE_DIR: planted },
    });
    expect(r.stdout).toBe('{"runId":"ours"}');
    // No default hidden in a script: run bare, backup stops before it makes anything.
    const bare = spawnSync('dash', ['-c', scriptText('backup'), 'kubemend-backup', 'r1'], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    expect(bare.status).not.toBe(0);
    expect(bare.stderr).toMatch(/KUBEMEND_STATE_DIR/);
    expect(existsSync(join(state, 'backups', 'r1'))).toBe(false);
  });
});

describe('a local user of the node cannot redirect kubemend writes (issue 19)', () => {
  /** A root-owned file a non-root user would love kubemend to overwrite, chmod or chown. */
  const victim = () => {
    const path = join(root, 'victim');
    writeFileSync(path, 'root:secret\n', { mode: 0o600 });
    return path;
  };
  const untouched = (path: string) => {
    expect(readFileSync(path, 'utf8')).toBe('root:secret\n');
    expect(statSync(path).mode & 0o7777).toBe(0o600);
    expect(statSync(path).uid).toBe(process.getuid?.() ?? 0);
  };
  /** A symbolic link planted at `at`, pointing at the victim. */
  const plant = (at: string, to: string) => {
    symlinkSync(to, at);
    return () => expect(lstatSync(at).isSymbolicLink()).toBe(true);
  };

  it('links planted at every temporary name the scripts used: the victim is unchanged, every write still lands', () => {
    const v = victim();
    const config = target('config.yaml');
    writeFileSync(config, 'old\n', { mode: 0o640 });
    const created = target('90-kubemend.conf');
    const links = [
      // write-file.sh and issue-cert.sh: the run id is in every local user's view (ps, lock.owner)
      plant(target('.config.yaml.kubemend-r20.tmp'), v),
      plant(target('.90-kubemend.conf.kubemend-r20.tmp'), v),
      // restore.sh: one fixed name
      plant(target('.config.yaml.kubemend-restore.tmp'), v),
      plant(target('.client.key.kubemend-r20.tmp'), v),
      plant(target('.client.crt.kubemend-r20.tmp'), v),
      // kubemend's own state: the inflight record's and the metadata's fixed temporary names
      plant(join(state, 'inflight.json.tmp'), v),
    ];

    expect(run('backup', ['r20', 'modify', config, sha('old\n'), 'create', created, '-'], '{}').code).toBe(0);
    links.push(plant(join(state, 'backups', 'r20', 'metadata.json.tmp'), v));
    const w = run('write-file', ['r20', 'modify', config, sha('old\n'), sha('new\n')], 'new\n');
    expect(w.stderr).toBe('');
    const c = run('write-file', ['r20', 'create', created, '-', sha('[Service]\n')], '[Service]\n');
    expect(c.stderr).toBe('');
    expect(readFileSync(config, 'utf8')).toBe('new\n');
    expect(statSync(config).mode & 0o777).toBe(0o640);
    expect(readFileSync(created, 'utf8')).toBe('[Service]\n');
    expect(statSync(created).mode & 0o777).toBe(0o644);
    expect(run('inflight-write', [], '{"runId":"r20"}').code).toBe(0);
    expect(readFileSync(join(state, 'inflight.json'), 'utf8')).toBe('{"runId":"r20"}');
    expect(run('metadata-write', ['r20'], '{"id":"r20"}').code).toBe(0);
    expect(readFileSync(join(state, 'backups', 'r20', 'metadata.json'), 'utf8')).toBe('{"id":"r20"}');

    const r = run('restore', ['r20', 'modified', config, sha('old\n'), '0.orig', '640', '0:0']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('restored 0\n');
    expect(readFileSync(config, 'utf8')).toBe('old\n');

    const { ca, caKey } = makeCa();
    const i = run('issue-cert', ['r20', target('client.crt'), target('client.key'), ca, caKey, '/CN=x', '1']);
    expect(i.stderr).toBe('');
    expect(i.stdout).toMatch(/^issued /m);

    untouched(v);
    for (const stillALink of links) stillALink();
    expect(canaries()).toEqual([]);
  });

  it('a target directory a non-root user owns or may write: refused before anything is written, with the path, owner, mode and fix', () => {
    const dir = join(root, 'odd dir', 'kubelet');
    mkdirSync(dir);
    const config = join(dir, 'config.yaml');
    writeFileSync(config, 'old\n');
    const refused = (mode: number, uid = 0) => {
      chmodSync(dir, mode);
      execFileSync('chown', [String(uid), dir]);
      const b = run('backup', ['r21', 'modify', config, sha('old\n')], '{}');
      const w = run('write-file', ['r21', 'modify', config, sha('old\n'), sha('new\n')], 'new\n');
      expect(readFileSync(config, 'utf8')).toBe('old\n');
      expect(readdirSync(dir)).toEqual(['config.yaml']);
      expect(existsSync(join(state, 'backups', 'r21'))).toBe(false);
      expect(scriptFailure(w.stderr)?.reason).toBe('unsafe');
      return scriptFailure(b.stderr);
    };
    expect(refused(0o777)).toEqual({
      reason: 'unsafe',
      message: expect.stringContaining(
        `${config}: ${dir} is writable by group or others (mode 777, owner root)`,
      ),
    });
    expect(refused(0o775)?.message).toMatch(/chown root DIR; chmod go-w DIR/);
    // Sticky does not save the target's own directory: others may still add names to it.
    expect(refused(0o1777)?.reason).toBe('unsafe');
    expect(refused(0o755, 65534)?.message).toContain(
      `${dir} is owned by nobody (uid 65534, mode 755), not by root`,
    );

    // A directory above it that others may write, or a link through one, is refused the same way.
    chmodSync(dir, 0o755);
    execFileSync('chown', ['0', dir]);
    const open = join(root, 'open');
    mkdirSync(join(open, 'etc'), { recursive: true });
    chmodSync(open, 0o777);
    writeFileSync(join(open, 'etc', 'k.yaml'), 'old\n');
    expect(
      scriptFailure(run('backup', ['r22', 'modify', join(open, 'etc', 'k.yaml'), sha('old\n')], '{}').stderr),
    ).toMatchObject({
      reason: 'unsafe',
      message: expect.stringContaining(`${open} is writable by group or others (mode 777`),
    });
    symlinkSync(join(open, 'etc'), join(root, 'odd dir', 'via-link'));
    const viaLink = join(root, 'odd dir', 'via-link', 'k.yaml');
    expect(
      scriptFailure(
        run('backup', ['r22', 'create', join(root, 'odd dir', 'via-link', 'new.yaml'), '-'], '{}').stderr,
      )?.reason,
    ).toBe('unsafe');
    expect(
      scriptFailure(run('write-file', ['r22', 'modify', viaLink, sha('old\n'), sha('new\n')], 'new\n').stderr)
        ?.reason,
    ).toBe('unsafe');
    expect(readFileSync(join(open, 'etc', 'k.yaml'), 'utf8')).toBe('old\n');

    // A root-owned sticky directory above it (/tmp) is fine: no one else can rename what is root's in it.
    const sticky = join(root, 'sticky');
    mkdirSync(join(sticky, 'etc'), { recursive: true });
    chmodSync(sticky, 0o1777);
    const ok = join(sticky, 'etc', 'k.yaml');
    writeFileSync(ok, 'old\n');
    expect(run('backup', ['r23', 'modify', ok, sha('old\n')], '{}').code).toBe(0);
    // And a file to create in a directory that does not exist yet is judged by the nearest that does.
    expect(
      run('backup', ['r24', 'create', join(root, 'odd dir', 'new', 'sub', 'x.conf'), '-'], '{}').code,
    ).toBe(0);
    expect(
      scriptFailure(run('backup', ['r25', 'create', join(open, 'new', 'x.conf'), '-'], '{}').stderr)?.reason,
    ).toBe('unsafe');
    // restore.sh will not copy a file back into such a directory either.
    mkdirSync(join(state, 'backups', 'r26'));
    writeFileSync(join(state, 'backups', 'r26', '0.orig'), 'orig\n');
    chmodSync(join(open, 'etc'), 0o777);
    const r = run('restore', [
      'r26',
      'modified',
      join(open, 'etc', 'k.yaml'),
      sha('orig\n'),
      '0.orig',
      '644',
      '0:0',
    ]);
    expect(scriptFailure(r.stderr)?.reason).toBe('unsafe');
    expect(readFileSync(join(open, 'etc', 'k.yaml'), 'utf8')).toBe('old\n');
  });

  it('restore removes a created file only while it is the one kubemend wrote; anything else stays, and is said', () => {
    const content = 'kind: KubeletConfiguration\n';
    const path = target('90-kubemend.yaml');
    expect(run('backup', ['r27', 'create', path, '-'], '{}').code).toBe(0);
    expect(run('write-file', ['r27', 'create', path, '-', sha(content)], content).code).toBe(0);
    // Someone replaced it after the apply: theirs now.
    writeFileSync(path, 'theirs\n');
    const args = (recorded: string) => ['r27', 'created', path, recorded, '-', '-', '-'];
    const changed = run('restore', args(sha(content)));
    expect(changed).toMatchObject({ code: 0, stdout: `left 0 changed ${sha('theirs\n')}\n` });
    expect(readFileSync(path, 'utf8')).toBe('theirs\n');
    // A record without a sha256 (an older kubemend's) never deletes unchecked.
    expect(run('restore', args('-')).stdout).toBe('left 0 unrecorded\n');
    writeFileSync(path, content);
    expect(run('restore', args('')).stdout).toBe('left 0 unrecorded\n');
    expect(readFileSync(path, 'utf8')).toBe(content);
    // A link in its place (to a root file) is not followed and not removed.
    rmSync(path);
    const v = victim();
    symlinkSync(v, path);
    expect(run('restore', args(sha(content))).stdout).toBe('left 0 notfile\n');
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
    untouched(v);
    // Gone already: nothing to do. Still what kubemend wrote: removed.
    rmSync(path);
    expect(run('restore', args(sha(content))).stdout).toBe('unchanged 0\n');
    writeFileSync(path, content);
    expect(run('restore', args(sha(content))).stdout).toBe('removed 0\n');
    expect(existsSync(path)).toBe(false);
  });

  it('issue-cert never touches a pair that was there, and takes back only what it placed', () => {
    const { ca, caKey } = makeCa();
    const crt = target('client.crt');
    const key = target('client.key');
    writeFileSync(key, 'their key\n', { mode: 0o600 });
    const r = run('issue-cert', ['r28', crt, key, ca, caKey, '/CN=x', '1']);
    expect(scriptFailure(r.stderr)?.reason).toBe('exists');
    expect(readFileSync(key, 'utf8')).toBe('their key\n');
    expect(existsSync(crt)).toBe(false);
    // The key placed, then the certificate cannot be: the key it placed goes again, nothing else.
    rmSync(key);
    writeFileSync(
      join(bin, 'mv'),
      '#!/bin/sh\nfor a; do last=$a; done\ncase $last in *.crt) exit 1 ;; esac\nexec /bin/mv "$@"\n',
    );
    chmodSync(join(bin, 'mv'), 0o755);
    const other = target('other.key');
    writeFileSync(other, 'their other key\n');
    const half = run('issue-cert', ['r29', crt, key, ca, caKey, '/CN=x', '1']);
    expect(scriptFailure(half.stderr)?.reason).toBe('issue');
    expect(existsSync(key)).toBe(false);
    expect(existsSync(crt)).toBe(false);
    expect(readdirSync(join(root, 'odd dir')).sort()).toEqual(['other.key']);
  });
});
