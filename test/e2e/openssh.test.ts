// The OpenSSH transport against real OpenSSH nodes: "if `ssh NODE true` works, kubemend works on NODE".
// Every case first shows that plain `ssh` gets in with the same HOME and ~/.ssh/config.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { NodeTarget } from '../../src/inventory/types.js';
import { openSession } from '../../src/node/ssh/index.js';
import { privateDir } from '../../src/node/ssh/openssh-dir.js';
import type { PlanFile } from '../../src/plan/types.js';
import type { AuditReport } from '../../src/report/audit-report.js';
import { downLab, upLab, type Lab } from '../lab/lab.js';
import { kubemend } from './cli.js';
import { waitUntil } from './helpers.js';

const canRun = inject('lab') !== undefined;
// Its own lab (sshd gets a host certificate and a user CA), named after the e2e lab so checkouts do not collide.
const LAB = `${process.env.KUBEMEND_E2E_LAB || 'e2e'}-ssh`;
const CERT_NODE = 'kubeadm-worker-bad';
const PLAIN_NODE = 'nokubelet';

describe.skipIf(!canRun)('the OpenSSH transport on real OpenSSH nodes', () => {
  let lab: Lab;
  let dir: string;
  /** ssh-keygen -l of each node's host key, as the plan must record it. */
  const hostKeyOf = new Map<string, string>();
  let userKey: string;
  let hostCaPub: string;
  let wrongCaPub: string;

  const keygen = (file: string) =>
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'kubemend-test', '-f', file]);
  const node = (name: string) => lab.nodes.find((n) => n.name === name)!;
  const onNode = async (name: string, command: string, input?: string) => {
    const r = await lab.ssh(name, command, input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`${name}: ${command}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubemend-e2e-openssh-'));
    lab = await upLab({
      name: LAB,
      nodes: [CERT_NODE, PLAIN_NODE],
      replace: true,
      log: (l) => console.log(`[lab ${LAB}] ${l}`),
    });
    const hostCa = join(dir, 'host-ca');
    const userCa = join(dir, 'user-ca');
    keygen(hostCa);
    keygen(userCa);
    keygen(join(dir, 'wrong-ca'));
    hostCaPub = readFileSync(`${hostCa}.pub`, 'utf8').trim();
    wrongCaPub = readFileSync(join(dir, 'wrong-ca.pub'), 'utf8').trim();
    // A login key that no authorized_keys holds: only its certificate (principal root) gets it in.
    userKey = join(dir, 'user-key');
    keygen(userKey);
    execFileSync('ssh-keygen', [
      '-q',
      '-s',
      userCa,
      '-I',
      'kubemend-test-user',
      '-n',
      'root',
      '-V',
      '-1h:+1d',
      `${userKey}.pub`,
    ]);
    for (const n of lab.nodes) {
      const pub = join(dir, `${n.name}-host.pub`);
      writeFileSync(pub, readFileSync(join(n.upperDir, 'etc/ssh/ssh_host_ed25519_key.pub')));
      hostKeyOf.set(
        n.name,
        execFileSync('ssh-keygen', ['-l', '-f', pub], { encoding: 'utf8' }).split(' ')[1]!,
      );
      execFileSync('ssh-keygen', [
        '-q',
        '-s',
        hostCa,
        '-h',
        '-I',
        n.name,
        '-n',
        n.host,
        '-V',
        '-1h:+1d',
        pub,
      ]);
      await onNode(
        n.name,
        'cat > /etc/ssh/ssh_host_ed25519_key-cert.pub',
        readFileSync(join(dir, `${n.name}-host-cert.pub`), 'utf8'),
      );
      await onNode(n.name, 'cat > /etc/ssh/kubemend-test-user-ca.pub', readFileSync(`${userCa}.pub`, 'utf8'));
      await onNode(
        n.name,
        'cat > /etc/ssh/sshd_config.d/50-kubemend-test.conf && sshd -t && systemctl restart ssh',
        'HostCertificate /etc/ssh/ssh_host_ed25519_key-cert.pub\nTrustedUserCAKeys /etc/ssh/kubemend-test-user-ca.pub\n',
      );
    }
  });
  afterAll(async () => {
    await downLab(LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  let homes = 0;
  /** A fresh HOME with this ~/.ssh/config and known_hosts, and an inventory naming only ssh aliases. */
  const home = (config: string, knownHosts: string, nodes: Record<string, string>) => {
    const h = join(dir, `home-${homes++}`);
    mkdirSync(join(h, '.ssh'), { recursive: true, mode: 0o700 });
    // ssh reads the login home's ~/.ssh/config, not $HOME's: every path here is absolute.
    writeFileSync(
      join(h, '.ssh', 'config'),
      `${config}\nHost *\n  UserKnownHostsFile ${join(h, '.ssh', 'known_hosts')}\n  GlobalKnownHostsFile /dev/null\n  IdentitiesOnly yes\n`,
    );
    writeFileSync(join(h, '.ssh', 'known_hosts'), knownHosts);
    const inventory = join(h, 'inventory.yaml');
    writeFileSync(
      inventory,
      `nodes:\n${Object.entries(nodes)
        .map(([name, alias]) => `  ${name}: { host: ${alias} }`)
        .join('\n')}\n`,
    );
    return { home: h, inventory, config: join(h, '.ssh', 'config') };
  };
  /** Plain `ssh ALIAS true` as the user runs it, with that HOME's config. */
  const plainSsh = (h: { home: string; config: string }, alias: string) =>
    spawnSync('ssh', ['-F', h.config, '-o', 'BatchMode=yes', alias, 'true'], {
      env: { PATH: process.env['PATH'], HOME: h.home },
      encoding: 'utf8',
      timeout: 30_000,
    });
  const plainKnownHosts = (name: string) =>
    readFileSync(lab.knownHostsPath, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith(`${node(name).host} `))
      .join('\n') + '\n';
  const caLine = (pub: string) => `@cert-authority ${lab.nodes.map((n) => n.host).join(',')} ${pub}\n`;
  const hostBlock = (alias: string, name: string, extra = '') =>
    `Host ${alias}\n  HostName ${node(name).host}\n  User root\n  IdentityFile ${lab.keyPath}\n${extra}`;
  const auditJson = async (h: { home: string; inventory: string }, args: string[] = []) => {
    const r = await kubemend(['audit', '-i', h.inventory, '-o', 'json', '-v', ...args], { home: h.home });
    return { ...r, report: JSON.parse(r.stdout) as AuditReport };
  };

  it('a node with a host certificate only (known_hosts holds just @cert-authority): audits, plans and applies', async () => {
    const h = home(hostBlock('cert-node', CERT_NODE), caLine(hostCaPub), { [CERT_NODE]: 'cert-node' });
    expect(plainSsh(h, 'cert-node').status).toBe(0);

    const audit = await auditJson(h);
    expect(audit.report.errors).toEqual([]);
    expect(audit.report.nodes).toMatchObject([{ node: CERT_NODE, reachable: true, transport: 'openssh' }]);
    expect(audit.report.results.find((r) => r.control === 'kubelet-client-ca')?.status).toBe('fail');
    expect(audit.code).toBe(1);
    expect(audit.stderr).toContain(
      `${CERT_NODE}: read [ssh: openssh, host certificate (@cert-authority at ${join(h.home, '.ssh', 'known_hosts')}:1)]`,
    );

    // The plan records the host's own key (the one the certificate certifies), as ssh-keygen -l shows it.
    const planFile = join(h.home, 'change.plan.json');
    const plan = await kubemend(['plan', '-i', h.inventory, '--out', planFile], { home: h.home });
    expect(plan.code).toBe(1);
    const saved = JSON.parse(readFileSync(planFile, 'utf8')) as PlanFile;
    expect(saved.nodes[0]).toMatchObject({
      node: CERT_NODE,
      status: 'change',
      hostKey: hostKeyOf.get(CERT_NODE),
    });

    const apply = await kubemend(['apply', '-i', h.inventory, '--plan', planFile, '--yes'], { home: h.home });
    expect({ code: apply.code, stderr: apply.stderr }).toMatchObject({ code: 0 });
    const after = await auditJson(h);
    expect(after.report.results.find((r) => r.control === 'kubelet-client-ca')?.status).toBe('pass');
    expect(after.code).toBe(0);
  });

  it('a wrong @cert-authority key is refused: exit 3, the CA named, nothing read', async () => {
    const h = home(hostBlock('cert-node', CERT_NODE), caLine(wrongCaPub), { [CERT_NODE]: 'cert-node' });
    const plain = plainSsh(h, 'cert-node');
    expect(plain.status).toBe(255);
    expect(plain.stderr).toContain('Host key verification failed.');

    const audit = await auditJson(h);
    expect(audit.code).toBe(3);
    expect(audit.report.nodes).toMatchObject([{ node: CERT_NODE, reachable: false, transport: 'openssh' }]);
    const caFingerprint = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'host-ca.pub')], {
      encoding: 'utf8',
    }).split(' ')[1];
    expect(audit.report.errors[0]?.error).toContain(
      `host certificate of node ${CERT_NODE} (${node(CERT_NODE).host}:22) is signed by CA ssh-ed25519 ${caFingerprint}, which is not a @cert-authority for ${node(CERT_NODE).host} in ${join(h.home, '.ssh', 'known_hosts')}`,
    );
  });

  /** Audits with the chosen client and with the other one; both refuse the node (exit 3). */
  const bothTransports = async (h: { home: string; inventory: string }) => {
    const lines: Record<string, string | undefined> = {};
    for (const transport of ['builtin', 'openssh'] as const) {
      const audit = await auditJson(h, ['--ssh', transport]);
      expect({ transport, code: audit.code }).toEqual({ transport, code: 3 });
      expect(audit.report.nodes).toMatchObject([{ reachable: false, transport }]);
      lines[transport] = audit.report.errors[0]?.error;
    }
    return lines;
  };

  it('a changed host key: the same line from both transports, naming the file line and ssh-keygen -R', async () => {
    const host = node(PLAIN_NODE).host;
    const h = home(hostBlock('changed', PLAIN_NODE), `${host} ${wrongCaPub}\n`, { [PLAIN_NODE]: 'changed' });
    const plain = plainSsh(h, 'changed');
    expect(plain.status).toBe(255);
    expect(plain.stderr).toContain('REMOTE HOST IDENTIFICATION HAS CHANGED');

    const lines = await bothTransports(h);
    const file = join(h.home, '.ssh', 'known_hosts');
    expect(lines['openssh']).toBe(lines['builtin']);
    expect(lines['builtin']).toContain(
      `REMOTE HOST IDENTIFICATION HAS CHANGED for node ${PLAIN_NODE} (${host}:22): it presented ssh-ed25519 ${hostKeyOf.get(PLAIN_NODE)}, ` +
        `but a different ssh-ed25519 key for this host is on file at ${file}:1.`,
    );
    expect(lines['builtin']).toContain(`ssh-keygen -R ${host} -f ${file}`);
  });

  it('an unknown host: the same line from both transports, with ssh-keyscan and --accept-new-host-keys as the way in', async () => {
    const host = node(PLAIN_NODE).host;
    const h = home(hostBlock('unknown', PLAIN_NODE), '', { [PLAIN_NODE]: 'unknown' });
    const plain = plainSsh(h, 'unknown');
    expect(plain.status).toBe(255);
    expect(plain.stderr).toContain('Host key verification failed.');

    const lines = await bothTransports(h);
    const file = join(h.home, '.ssh', 'known_hosts');
    expect(lines['openssh']).toBe(lines['builtin']);
    expect(lines['builtin']).toContain(
      `host key of node ${PLAIN_NODE} (${host}:22) is not known: ssh-ed25519 ${hostKeyOf.get(PLAIN_NODE)} is not in ${file}`,
    );
    expect(lines['builtin']).toContain('--accept-new-host-keys');
    expect(lines['builtin']).toContain(`ssh-keyscan -p 22 ${host} >> ${file}`);
  });

  it('a revoked host key: the same line from both transports, naming the @revoked line, and no way around it', async () => {
    const host = node(PLAIN_NODE).host;
    const known = plainKnownHosts(PLAIN_NODE);
    const revoked = `@revoked * ${known.trim().split(' ').slice(1).join(' ')}\n`;
    const h = home(hostBlock('revoked', PLAIN_NODE), known + revoked, { [PLAIN_NODE]: 'revoked' });
    const plain = plainSsh(h, 'revoked');
    expect(plain.status).toBe(255);
    expect(plain.stderr).toContain('REVOKED HOST KEY DETECTED');

    const lines = await bothTransports(h);
    const file = join(h.home, '.ssh', 'known_hosts');
    expect(lines['openssh']).toBe(lines['builtin']);
    expect(lines['builtin']).toContain(
      `host key of node ${PLAIN_NODE} (${host}:22) is REVOKED: ssh-ed25519 ${hostKeyOf.get(PLAIN_NODE)} is marked @revoked at ${file}:2`,
    );
    expect(lines['builtin']).not.toContain('--accept-new-host-keys');
  });

  it('an expired host certificate: OpenSSH names the CA line and the validity; the built-in client says it cannot check certificates', async () => {
    const host = node(CERT_NODE).host;
    const expired = join(dir, `${CERT_NODE}-expired.pub`);
    writeFileSync(expired, readFileSync(join(dir, `${CERT_NODE}-host.pub`)));
    execFileSync('ssh-keygen', [
      '-q',
      '-s',
      join(dir, 'host-ca'),
      '-h',
      '-I',
      CERT_NODE,
      '-n',
      host,
      '-V',
      '20200101:20200102',
      expired,
    ]);
    // restart, not reload: reload is a SIGHUP, after which sshd re-executes and refuses connections
    // for a moment; restart returns once the new sshd has told systemd it listens (Type=notify).
    const install = (cert: string) =>
      onNode(
        CERT_NODE,
        'cat > /etc/ssh/ssh_host_ed25519_key-cert.pub && systemctl restart ssh',
        readFileSync(cert, 'utf8'),
      );
    await install(join(dir, `${CERT_NODE}-expired-cert.pub`));
    try {
      const h = home(hostBlock('expired', CERT_NODE), caLine(hostCaPub), { [CERT_NODE]: 'expired' });
      const plain = plainSsh(h, 'expired');
      expect(plain.status).toBe(255);
      expect(plain.stderr).toContain('Certificate invalid: expired');

      const lines = await bothTransports(h);
      const file = join(h.home, '.ssh', 'known_hosts');
      const caFingerprint = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'host-ca.pub')], {
        encoding: 'utf8',
      }).split(' ')[1];
      expect(lines['openssh']).toContain(
        `host certificate of node ${CERT_NODE} (${host}:22) is not valid: expired (valid from `,
      );
      expect(lines['openssh']).toContain(
        `); it is signed by CA ssh-ed25519 ${caFingerprint}, trusted at ${file}:1 (fix: renew the node's host certificate`,
      );
      expect(lines['openssh']).not.toContain('--accept-new-host-keys');
      expect(lines['builtin']).toBe(
        `host key of node ${CERT_NODE} (${host}:22) is not known: ssh-ed25519 ${hostKeyOf.get(CERT_NODE)} is not in ${file}: ` +
          `${file} trusts ${host} only through @cert-authority lines, and the built-in SSH client cannot check host certificates ` +
          `(fix: use --ssh openssh for this node (without --ssh builtin or ssh: builtin, kubemend chooses it by itself))`,
      );
    } finally {
      await install(join(dir, `${CERT_NODE}-host-cert.pub`));
    }
  });

  it('user-certificate login only (TrustedUserCAKeys, no authorized key): OpenSSH gets in, the built-in client cannot', async () => {
    const h = home(
      `Host user-cert\n  HostName ${node(PLAIN_NODE).host}\n  User root\n  IdentityFile ${userKey}\n`,
      plainKnownHosts(PLAIN_NODE),
      { [PLAIN_NODE]: 'user-cert' },
    );
    expect(plainSsh(h, 'user-cert').status).toBe(0);

    const audit = await auditJson(h);
    expect(audit.report.errors).toEqual([]);
    expect(audit.report.nodes).toMatchObject([{ node: PLAIN_NODE, reachable: true, transport: 'openssh' }]);
    expect(audit.stderr).toContain(`[ssh: openssh, user certificate ${userKey}-cert.pub]`);
    expect(audit.code).toBe(0);

    const builtin = await auditJson(h, ['--ssh', 'builtin']);
    expect(builtin.code).toBe(3);
    expect(builtin.report.nodes).toMatchObject([{ transport: 'builtin', reachable: false }]);
    expect(builtin.report.errors[0]?.error).toMatch(/^authentication failed for root@/);
  });

  it('through ProxyCommand nc %h %p', async () => {
    const h = home(
      hostBlock('via-nc', PLAIN_NODE, '  ProxyCommand nc %h %p\n'),
      plainKnownHosts(PLAIN_NODE),
      {
        [PLAIN_NODE]: 'via-nc',
      },
    );
    expect(plainSsh(h, 'via-nc').status).toBe(0);
    const audit = await auditJson(h);
    expect(audit.report.errors).toEqual([]);
    expect(audit.report.nodes).toMatchObject([{ node: PLAIN_NODE, reachable: true, transport: 'openssh' }]);
    expect(audit.stderr).toContain('[ssh: openssh, ProxyCommand nc %h %p');
    expect(audit.code).toBe(0);

    // Without an ssh command, the node is not dialled directly instead: a clear error, exit 3.
    const emptyPath = join(dir, 'no-ssh-bin');
    mkdirSync(emptyPath, { recursive: true });
    const noSsh = await kubemend(['audit', '-i', h.inventory, '-o', 'json'], {
      home: h.home,
      env: { PATH: emptyPath },
    });
    expect(noSsh.code).toBe(3);
    expect((JSON.parse(noSsh.stdout) as AuditReport).errors[0]?.error).toContain(
      `node ${PLAIN_NODE} needs the system ssh client (ProxyCommand nc %h %p`,
    );
  });

  it('sudo -n over OpenSSH: a NOPASSWD user is audited as root; a user whose sudo wants a password gets the same error as on ssh2', async () => {
    const hosts = `Host as-admin as-nopw\n  HostName ${node(PLAIN_NODE).host}\n  IdentityFile ${lab.keyPath}\n  ProxyCommand nc %h %p\nHost as-admin\n  User admin\nHost as-nopw\n  User nopw\n`;
    const h = home(hosts, plainKnownHosts(PLAIN_NODE), {});
    writeFileSync(
      h.inventory,
      `defaults: { become: sudo }\nnodes:\n  admin-node: { host: as-admin }\n  nopw-node: { host: as-nopw }\n`,
    );
    expect(plainSsh(h, 'as-admin').status).toBe(0);
    const audit = await auditJson(h);
    expect(audit.code).toBe(3);
    expect(audit.report.nodes).toMatchObject([
      { node: 'admin-node', reachable: true, transport: 'openssh' },
      { node: 'nopw-node', reachable: false, transport: 'openssh' },
    ]);
    expect(audit.report.errors).toEqual([
      {
        node: 'nopw-node',
        error:
          'user nopw on node nopw-node needs a password for sudo; kubemend runs `sudo -n` and never prompts ' +
          "(fix: allow NOPASSWD for nopw in sudoers on nopw-node (e.g. 'nopw ALL=(ALL) NOPASSWD: ALL' in /etc/sudoers.d/), or connect as root)",
      },
    ]);
  });

  it('through a Match host block that the built-in client does not read', async () => {
    const h = home(
      `Match host matched-node\n  HostName ${node(PLAIN_NODE).host}\n  User root\n  IdentityFile ${lab.keyPath}\n`,
      plainKnownHosts(PLAIN_NODE),
      { [PLAIN_NODE]: 'matched-node' },
    );
    expect(plainSsh(h, 'matched-node').status).toBe(0);
    const audit = await auditJson(h);
    expect(audit.report.errors).toEqual([]);
    expect(audit.report.nodes).toMatchObject([{ node: PLAIN_NODE, reachable: true, transport: 'openssh' }]);
    expect(audit.stderr).toContain(`[ssh: openssh, HostName ${node(PLAIN_NODE).host}`);
  });

  it('through an Include, with either transport', async () => {
    const included = join(dir, 'included.d');
    mkdirSync(included, { recursive: true });
    writeFileSync(join(included, 'lab.conf'), hostBlock('included-node', PLAIN_NODE));
    const h = home(`Include ${included}/*.conf\n`, plainKnownHosts(PLAIN_NODE), {
      [PLAIN_NODE]: 'included-node',
    });
    expect(plainSsh(h, 'included-node').status).toBe(0);
    for (const [args, transport] of [
      [[], 'builtin'],
      [['--ssh', 'openssh'], 'openssh'],
    ] as const) {
      const audit = await auditJson(h, [...args]);
      expect(audit.report.errors).toEqual([]);
      expect(audit.report.nodes).toMatchObject([{ node: PLAIN_NODE, reachable: true, transport }]);
      expect(audit.code).toBe(0);
    }
  });

  it('a session: bounded output, a timeout kills the command on the node, the heartbeat holder, no control socket left', async () => {
    const h = home(hostBlock('plain', PLAIN_NODE), plainKnownHosts(PLAIN_NODE), {});
    const target: NodeTarget = {
      name: PLAIN_NODE,
      host: node(PLAIN_NODE).host,
      port: 22,
      user: 'root',
      identityFile: lab.keyPath,
      become: 'none',
      proxyJump: [],
      knownHostsFile: join(h.home, '.ssh', 'known_hosts'),
      groups: [],
      params: {},
      source: { file: 'test', line: 1 },
      ssh: 'openssh',
    };
    const session = await openSession(target, {
      connectTimeoutSec: 5,
      acceptNewHostKeys: false,
      homeDir: h.home,
    });
    const socketDir = privateDir()!;
    expect(statSync(socketDir).mode & 0o777).toBe(0o700);
    try {
      expect(session.hostKeyFingerprint).toBe(hostKeyOf.get(PLAIN_NODE));
      const quoted = await session.exec(`printf '%s|' "$0" "it's" 'a b'; cat`, { stdin: 'in\n' });
      expect(quoted).toMatchObject({ code: 0, stdout: "bash|it's|a b|in\n", truncated: false });
      expect(await session.exec('exit 7')).toMatchObject({ code: 7 });

      const big = await session.exec('yes', { maxBytes: 1000 });
      expect(big).toMatchObject({ code: null, truncated: true });
      expect(big.stdout.length).toBe(1000);

      await expect(session.exec('sleep 300; echo never', { timeoutSec: 1 })).rejects.toMatchObject({
        kind: 'timeout',
      });
      const left = await session.exec("pgrep -f 'sleep 30[0]' || true");
      expect(left.stdout.trim()).toBe('');

      const held = await session.hold('echo held; cat >/dev/null');
      expect(held).toMatchObject({ firstLine: 'held', running: true });
      expect((await session.exec("pgrep -fx 'cat' | wc -l")).stdout.trim()).toBe('1');
      await held.release();
      await waitUntil(
        'the holder ends',
        async () => (await session.exec("pgrep -fx 'cat' | wc -l")).stdout.trim() === '0',
        10_000,
      );
    } finally {
      await session.close();
      await session.close();
    }
    await expect(session.exec('true')).rejects.toMatchObject({ kind: 'unreachable' });
    expect(privateDir()).toBeUndefined();
    expect(existsSync(socketDir)).toBe(false);
  });
});
