import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { rolloutSerial } from '../../src/apply/rollout.js';
import { buildProgram, commandWord } from '../../src/cli.js';
import type { ApplyOptions } from '../../src/commands/apply.js';
import { applyOptions } from '../../src/commands/command-options.js';
import { silentIo } from '../../src/commands/io.js';
import { cliRunner } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'kubemend-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = cliRunner({ HOME: dir });

describe('the command line', () => {
  it('--version and --help answer with exit 0; help lists every command and the exit codes', async () => {
    expect(await cli('--version')).toMatchObject({ code: 0, stdout: 'kubemend 0.1.0\n' });
    const help = await cli('--help');
    expect(help.code).toBe(0);
    for (const c of ['audit', 'plan', 'apply', 'rollback', 'backups']) expect(help.stdout).toContain(c);
    expect(help.stdout).toContain('4  apply refused a node because the plan is stale');
    expect((await cli('apply', '--help')).stdout).toContain(
      'kubemend apply --plan change.plan.json --yes --not-after 05:30',
    );
  });

  it('apply -o junit or markdown is refused (exit 2) rather than ignored', async () => {
    for (const o of ['junit', 'markdown']) {
      const r = await cli('apply', '--yes', '-o', o, '-i', join(dir, 'none.yaml'));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`apply has no ${o} output; use table or json`);
    }
  });

  it('every command and the session take the nodes from a kubeconfig: --help says how', async () => {
    for (const c of [[], ['audit'], ['plan'], ['apply'], ['rollback'], ['backups']]) {
      const help = (await cli(...c, '--help')).stdout.replace(/\s+/g, ' ');
      expect(help, c.join(' ')).toContain(
        "--kubeconfig <file> take the nodes from this kubeconfig's cluster",
      );
      expect(help, c.join(' ')).toContain('--context <name> take the nodes from this kubeconfig context');
      expect(help, c.join(' ')).toContain(
        "--node-address <rule> which of a cluster node's addresses ssh dials (default: the inventory's nodeAddress",
      );
    }
  });

  it('-V prints the version; audit --help lists every control alias and shows defaults as values', async () => {
    expect(await cli('-V')).toMatchObject({ code: 0, stdout: 'kubemend 0.1.0\n' });
    const help = (await cli('audit', '--help')).stdout.replace(/\s+/g, ' ');
    for (const alias of ['cis-k8s-1.2.5', 'cis-k8s-1.2.4', 'cis-eks-3.2.3', 'cis-k8s-4.2.3'])
      expect(help).toContain(alias);
    expect(help).toContain('nodes worked on at once (default: 20)');
    expect(help).toContain('(default: ./inventory.yaml)');
    expect(help).toContain('(default: ~/.ssh/known_hosts)');
    expect(help).not.toContain('(default: false)');
  });

  // 127.0.0.1:1 refuses at once: exit 3 proves the command ran with the inventory it was given.
  it('common options work before the command as well as after it', async () => {
    const inv = join(dir, 'anywhere.yaml');
    writeFileSync(inv, 'nodes:\n  cp: { host: 127.0.0.1, port: 1 }\n');
    expect((await cli('--no-color', 'audit', '-i', inv)).code).toBe(3);
    expect((await cli('-i', inv, '--connect-timeout', '2', 'audit')).code).toBe(3);
    expect((await cli('-i', inv, 'plan', '-o', 'json')).code).toBe(3);
    const missing = await cli('-i', join(dir, 'nowhere.yaml'), 'audit');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nowhere.yaml');
    expect((await cli('--concurrency', '0', 'audit')).stderr).toContain(
      '--concurrency must be a whole number',
    );
    const typo = await cli('-i', inv, 'audti');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("unknown command 'audti'");
  });

  // Judged before any node is tried: the message names the directory and the way out.
  it('plan --out or --diff where nothing can be written: exit 2 before any node, naming the path; a good --out is written whole', async () => {
    const inv = join(dir, 'out-check.yaml');
    writeFileSync(inv, 'nodes:\n  cp: { host: 127.0.0.1, port: 1 }\n');
    const noDir = await cli('plan', '-i', inv, '--out', join(dir, 'no-such-dir', 'change.plan.json'));
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toContain(
      `cannot write the plan file ${join(dir, 'no-such-dir', 'change.plan.json')}`,
    );
    expect(noDir.stderr).toContain(`${join(dir, 'no-such-dir')}: ENOENT`);
    expect(noDir.stderr).toContain('give a path in an existing directory you can write to');
    const isDir = await cli('plan', '-i', inv, '--diff', dir);
    expect(isDir.code).toBe(2);
    expect(isDir.stderr).toContain(`cannot write the patch ${dir}: it exists and is not a regular file`);

    const out = join(dir, 'change.plan.json');
    writeFileSync(out, 'the reviewed plan\n');
    expect((await cli('plan', '-i', inv, '--out', out)).code).toBe(3);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({
      version: 1,
      nodes: [{ node: 'cp', status: 'error' }],
    });
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('finds the command word behind options and their values', () => {
    expect(commandWord(['-i', 'inv.yaml', '--no-color', 'apply', '--yes'])).toBe('apply');
    expect(commandWord(['-l', 'apply', 'audit'])).toBe('audit'); // "apply" is the value of -l
    expect(commandWord(['--journal', 'rollback', '-v'])).toBeUndefined(); // the session
    expect(commandWord([])).toBeUndefined();
  });

  it('no command, with options, without a terminal: the session needs one (exit 2), the options are fine', async () => {
    const r = await cli(
      '-i',
      join(dir, 'none.yaml'),
      '--known-hosts',
      join(dir, 'kh'),
      '--accept-new-host-keys',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('interactive session, which needs a terminal');
    expect(r.stderr).not.toContain('unknown option');
  });

  it('no command without a terminal: usage, exit 2', async () => {
    const r = await cli();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('interactive session, which needs a terminal');
  });

  it('a bad flag or value is a usage error (exit 2) before anything is touched', async () => {
    expect((await cli('audit', '--bogus')).code).toBe(2);
    expect((await cli('audit', '-o', 'yaml')).code).toBe(2);
    const controls = await cli('audit', '--controls', 'cis-9.9.9');
    expect(controls).toMatchObject({ code: 2 });
    expect(controls.stderr).toContain('unknown control cis-9.9.9');
    expect((await cli('audit', '--concurrency', '0')).stderr).toContain(
      '--concurrency must be a whole number',
    );
  });

  it('apply without a terminal and without --yes refuses with exit 2 and says why', async () => {
    const r = await cli('apply', '-i', join(dir, 'none.yaml'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pass --yes');
  });

  it('rollback without a terminal and without --yes, and a bad --not-after, are usage errors (exit 2)', async () => {
    const rb = await cli('rollback', '--node', 'cp-1', '-i', join(dir, 'none.yaml'));
    expect(rb.code).toBe(2);
    expect(rb.stderr).toContain('pass --yes');
    const na = await cli('apply', '--yes', '--not-after', 'tomorrow', '-i', join(dir, 'none.yaml'));
    expect(na.code).toBe(2);
    expect(na.stderr).toContain(
      '--not-after "tomorrow" is neither a clock time (HH:MM) nor an ISO date-time',
    );
    expect((await cli('backups', '-i', join(dir, 'none.yaml'))).stderr).toContain(
      "required option '--node <name>'",
    );
  });

  it('an invalid inventory is reported whole, each problem with its line, exit 2', async () => {
    const inv = join(dir, 'bad.yaml');
    writeFileSync(
      inv,
      'nodes:\n  a: { host: 10.0.0.1, prot: 22 }\n  b: { host: 10.0.0.2, become: always }\n',
    );
    const r = await cli('audit', '-i', inv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has 2 problems/);
    expect(r.stderr).toMatch(/bad\.yaml:2: .*prot/);
    expect(r.stderr).toMatch(/bad\.yaml:3: .*become/);
  });

  it('an identityFile that is not there: exit 2 on stderr before any node, naming the inventory, node and field', async () => {
    const inv = join(dir, 'keys.yaml');
    writeFileSync(inv, 'nodes:\n  a: { host: 127.0.0.1, port: 1, identityFile: ./no-such-key }\n');
    for (const command of [['audit'], ['plan'], ['apply', '--yes']]) {
      const r = await cli(...command, '-i', inv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(
        `keys.yaml:2: node 'a': identityFile ${join(dir, 'no-such-key')} does not exist`,
      );
    }
  });

  it('a proxyJump that would run a command on this machine: exit 2, nothing started', async () => {
    const inv = join(dir, 'jump.yaml');
    const pwned = join(dir, 'pwned');
    writeFileSync(
      inv,
      `nodes:\n  a: { host: 127.0.0.1, port: 1, ssh: openssh, proxyJump: 'x$(touch\${IFS}${pwned})@127.0.0.1' }\n`,
    );
    const r = await cli('audit', '-i', inv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("jump.yaml:2: node 'a': proxyJump");
    expect(readdirSync(dir)).not.toContain('pwned');
  });

  // 127.0.0.1:1 refuses at once: reaching it (exit 3) proves the settings were accepted.
  it('a bad -p or params that fit no playbook: exit 2 from every command, before connecting', async () => {
    const inv = join(dir, 'params.yaml');
    writeFileSync(
      inv,
      'nodes:\n  cp:\n    host: 127.0.0.1\n    port: 1\n    params: { kubelet: { bogus: 1 } }\n',
    );
    for (const command of ['audit', 'plan']) {
      const r = await cli(command, '-i', inv);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/params for node cp \(.*params\.yaml:5\) do not fit playbook/);
      expect(r.stderr).toMatch(/bogus/);
    }
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'nodes:\n  cp: { host: 127.0.0.1, port: 1 }\n');
    const missing = await cli('audit', '-i', good, '-p', join(dir, 'no-such-playbook.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no-such-playbook.yaml');
    // A partial apiserver part fits every built-in playbook (EKS has none and ignores it).
    writeFileSync(
      inv,
      'nodes:\n  cp:\n    host: 127.0.0.1\n    port: 1\n    params: { apiserver: { kubeletClientCertificate: /etc/kubernetes/pki/x.crt } }\n',
    );
    expect((await cli('plan', '-i', inv, '--connect-timeout', '2')).code).toBe(3);
  });

  it('a plan file that was edited after review is refused (exit 2)', async () => {
    const plan = join(dir, 'edited.plan.json');
    writeFileSync(
      plan,
      JSON.stringify({
        version: 1,
        tool: 'kubemend 0.1.0',
        createdAt: '2026-11-22T00:00:00Z',
        nodes: [
          {
            node: 'cp-1',
            host: '10.0.0.10',
            port: 22,
            hostKey: 'SHA256:x',
            role: 'control-plane',
            layout: 'kubeadm',
            status: 'change',
            blocked: [],
            changes: [
              {
                control: 'kubelet-client-ca',
                path: '/var/lib/kubelet/config.yaml',
                action: 'modify',
                before: { sha256: 'a'.repeat(64) },
                after: { sha256: 'b'.repeat(64), content: 'tampered' },
                diff: '',
                restart: 'kubelet',
                durable: true,
                notes: [],
              },
            ],
          },
        ],
      }),
    );
    writeFileSync(join(dir, 'inv.yaml'), 'nodes:\n  cp-1: { host: 10.0.0.10 }\n');
    const r = await cli('apply', '--plan', plan, '--yes', '-i', join(dir, 'inv.yaml'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the content does not match its sha256 (the plan was edited after review)');
  });
});

describe('typed options', () => {
  /** apply's options as the command line gives them to runApply (the action is swapped for a recorder). */
  async function applyOptionsOf(...argv: string[]) {
    let seen: ApplyOptions | undefined;
    const program = buildProgram(silentIo(), () => undefined);
    program.commands
      .find((c) => c.name() === 'apply')!
      .action((_local: unknown, cmd: Command) => {
        seen = applyOptions(cmd.optsWithGlobals());
      });
    await program.parseAsync(argv, { from: 'user' });
    return seen!;
  }

  it("apply without --serial batches by the playbooks' rollout.serial, as README says; --serial wins", async () => {
    const playbookSerials = [3, 5];
    const plain = await applyOptionsOf('apply', '--yes');
    expect(plain.serial).toBeUndefined();
    expect(rolloutSerial(plain.serial, playbookSerials)).toBe(3);
    const given = await applyOptionsOf('apply', '--serial', '4', '--yes');
    expect(rolloutSerial(given.serial, playbookSerials)).toBe(4);
    expect((await cli('apply', '--help')).stdout.replace(/\s+/g, ' ')).toContain(
      "default: the smallest rollout.serial of the nodes' playbooks",
    );
  });

  it('an empty --plan-sha256 is kept (a hash no plan has), not read as no check', async () => {
    const o = await applyOptionsOf(
      'apply',
      '--plan',
      'p.json',
      '--plan-sha256',
      '',
      '-l',
      'cp-1',
      '--keep-going',
    );
    expect(o).toMatchObject({ plan: 'p.json', planSha256: '', limit: 'cp-1', keepGoing: true, yes: false });
  });
});
