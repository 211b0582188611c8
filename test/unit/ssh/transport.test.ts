import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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
