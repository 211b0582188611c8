import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/inventory/load.js';
import { chooseTransport } from '../../../src/node/ssh/transport.js';

// The real `ssh -G` (it reads the config and connects to nothing), on a fresh HOME's ~/.ssh/config.
describe('choosing the SSH client per node', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'kubemend-transport-'));
    await mkdir(join(home, '.ssh'));
    await writeFile(
      join(home, '.ssh', 'config'),
      [
        'Host plain',
        '  HostName 192.0.2.10',
        'Host via-ssm',
        '  ProxyCommand aws ssm start-session --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p',
        'Match host matched',
        '  HostName 192.0.2.11',
        '  User ec2-user',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(home, 'inventory.yaml'),
      'nodes:\n  plain: {}\n  ssm: { host: via-ssm }\n  matched: {}\n  forced: { host: plain, ssh: openssh }\n  ssm-builtin: { host: via-ssm, ssh: builtin }\n',
    );
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  const choices = async (env: NodeJS.ProcessEnv = process.env) => {
    const nodes = await loadInventory(join(home, 'inventory.yaml'), { homeDir: home });
    const opts = { connectTimeoutSec: 5, acceptNewHostKeys: false, homeDir: home, env };
    return Object.fromEntries(
      await Promise.all(
        nodes.map(async (n) => [
          n.name,
          await chooseTransport(n, opts).then(
            (c) => `${c.transport}: ${c.why}`,
            (e: Error) => `error: ${e.message}`,
          ),
        ]),
      ),
    );
  };

  it('from what ssh -G says, the inventory, and what the built-in client can follow', async () => {
    expect(await choices()).toEqual({
      plain: 'builtin: plain keys and known_hosts',
      ssm: 'openssh: ProxyCommand aws ssm start-session --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p',
      matched: 'openssh: HostName 192.0.2.11; User ec2-user',
      forced: 'openssh: asked for (--ssh or the inventory)',
      'ssm-builtin':
        'error: node ssm-builtin: ssh reaches it with ProxyCommand aws ssm start-session --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p, which the built-in client cannot follow; with the built-in client (ssh: builtin) it would connect elsewhere or as someone else',
    });
  });

  it('without an ssh command: the built-in client where it can, a clear error where only ssh can', async () => {
    const emptyBin = join(home, 'bin');
    await mkdir(emptyBin, { recursive: true });
    const result = await choices({ PATH: emptyBin });
    expect(result['plain']).toBe('builtin: no ssh command on PATH');
    expect(result['ssm']).toMatch(
      /^error: node ssm needs the system ssh client \(ProxyCommand aws ssm start-session .* \(.*config:4\)\), but there is no `ssh` command on PATH$/,
    );
    expect(result['forced']).toBe(
      'error: node forced needs the system ssh client (ssh: openssh was asked for), but there is no `ssh` command on PATH',
    );
  });
});

// Issue 23: one `ssh -G` per node was a quarter of kubemend's CPU on a large fleet. Counted with an
// `ssh` on PATH that logs each call and runs the real one.
describe('ssh -G once for nodes its configuration cannot tell apart', () => {
  let home: string;
  let bin: string;
  let log: string;
  const hosts = ['192.0.2.21', '192.0.2.22', 'Node-3.Example.COM', '192.0.2.24', 'special'];
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'kubemend-transport-scope-'));
    bin = join(home, 'bin');
    log = join(home, 'calls');
    await mkdir(join(home, '.ssh'));
    await mkdir(bin);
    const real = spawnSync('sh', ['-c', 'command -v ssh'], { encoding: 'utf8' }).stdout.trim();
    await writeFile(join(bin, 'ssh'), `#!/bin/sh\necho call >> "${log}"\nexec "${real}" "$@"\n`, {
      mode: 0o755,
    });
    await writeFile(
      join(home, 'inventory.yaml'),
      `defaults: { user: admin }\nnodes:\n${hosts.map((h, i) => `  n${i}: { host: ${h} }\n`).join('')}`,
    );
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  const run = async (config: string, env: NodeJS.ProcessEnv = {}) => {
    await writeFile(join(home, '.ssh', 'config'), config);
    await writeFile(log, '');
    const nodes = await loadInventory(join(home, 'inventory.yaml'), { homeDir: home });
    const opts = {
      connectTimeoutSec: 5,
      acceptNewHostKeys: false,
      homeDir: home,
      env: { PATH: `${bin}:${process.env['PATH']}`, ...env },
    };
    const out: Record<string, string> = {};
    for (const n of nodes) {
      const c = await chooseTransport(n, opts).catch((e: Error) => ({ transport: 'error', why: e.message }));
      const s = 'settings' in c && c.settings ? Object.fromEntries(c.settings) : {};
      out[n.name] = `${c.transport}: ${c.why} ${JSON.stringify(s)}`;
    }
    return { out, calls: (await readFile(log, 'utf8')).split('\n').filter(Boolean).length };
  };

  it('only Host * settings: one ssh -G, and every node gets what its own ssh -G says', async () => {
    const { out, calls } = await run('Host *\n  ServerAliveInterval 30\n  ControlPath ~/.ssh/cm-%C\n');
    expect(calls).toBe(1);
    expect(out['n2']).toBe(
      'builtin: plain keys and known_hosts {"hostname":["node-3.example.com"],"port":["22"],"user":["admin"]}',
    );
    // The same answers as one ssh -G per node (a config with a Match forces that).
    const each = await run('Host *\n  ServerAliveInterval 30\nMatch host nothing-matches\n  Port 2\n');
    expect(each.calls).toBe(hosts.length);
    expect(each.out).toEqual(out);
  });

  it('a Host block for one node: each node runs its own ssh -G, and that node gets its settings', async () => {
    const { out, calls } = await run('Host special\n  HostName 192.0.2.99\n');
    expect(calls).toBe(hosts.length);
    expect(out['n4']).toContain('"hostname":["192.0.2.99"]');
    expect(out['n0']).toContain('"hostname":["192.0.2.21"]');
  });

  it("GSSAPIAuthentication yes (Debian's default) picks ssh only when a Kerberos credential could exist", async () => {
    const config = 'Host *\n  GSSAPIAuthentication yes\n';
    expect((await run(config)).out['n0']).toMatch(/^builtin: plain keys and known_hosts/);
    const withTicket = await run(config, { KRB5CCNAME: `FILE:${join(home, 'krb5cc')}` });
    expect(withTicket.out['n0']).toMatch(/^openssh: GSSAPIAuthentication yes /);
  });
});
