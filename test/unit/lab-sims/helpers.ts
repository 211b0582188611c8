// Shared scaffolding for the simulator tests: a temp dir per suite, sims started with the host's
// node on free 127.0.0.1 ports, openssl-made certificates, and exact cleanup by PID.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SIMS_DIR = fileURLToPath(new URL('../../lab/sims/', import.meta.url));

export async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function isAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

export const cmdline = (pid: number): string[] =>
  fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);

export class SimProcess {
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(readonly child: ChildProcess) {
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }
  get pid(): number {
    return this.child.pid as number;
  }
  waitForLog(pattern: RegExp, timeoutMs = 10_000): Promise<true> {
    return waitFor(() => pattern.test(this.stderr) || undefined, `log ${pattern}`, timeoutMs);
  }
  /** SIGTERM (the sims exit cleanly on it), then SIGKILL if needed. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface PodRecord {
  key: string;
  name: string;
  file: string;
  hash: string;
  argv: string[];
  binary: string | null;
  pid: number | null;
}

export class LabDir {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemend-sims-'));
  private readonly procs: SimProcess[] = [];

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  write(rel: string, content: string): string {
    const file = this.path(rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    return file;
  }

  /** Starts a sim with the host's node. Pods run as detached processes with their state in the lab dir. */
  run(sim: 'kubelet' | 'kube-apiserver', args: string[], env: Record<string, string> = {}): SimProcess {
    const child = spawn(process.execPath, [path.join(SIMS_DIR, `${sim}.mjs`), ...args], {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        KUBELET_SIM_STATE_DIR: this.path('state'),
        KUBELET_SIM_RUNNER: 'process',
        KUBELET_SIM_NODE_NAME: 'node-1',
        ...env,
      },
    });
    const proc = new SimProcess(child);
    this.procs.push(proc);
    return proc;
  }

  /** A bash launcher like the lab's: argv[0] is its own path, then the sim script, then the flags. */
  launcher(sim: 'kubelet' | 'kube-apiserver'): string {
    const file = this.write(
      `bin/${sim}`,
      `#!/bin/bash\nexec -a "$0" ${process.execPath} ${path.join(SIMS_DIR, `${sim}.mjs`)} "$@"\n`,
    );
    fs.chmodSync(file, 0o755);
    return file;
  }

  podRecords(): PodRecord[] {
    const dir = this.path('state');
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
      .map((name) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as PodRecord);
  }

  pod(prefix: string): PodRecord | undefined {
    return this.podRecords().find((record) => record.name.startsWith(prefix));
  }

  /** Stops every sim started here, then every pod they recorded, by PID; removes the dir. */
  async cleanup(): Promise<void> {
    await Promise.all(this.procs.map((proc) => proc.stop()));
    for (const record of this.podRecords()) {
      if (record.pid && isAlive(record.pid)) {
        try {
          process.kill(-record.pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface Certs {
  ca: string;
  ca2: string;
  client: { cert: string; key: string };
  serverOnly: { cert: string; key: string };
  untrusted: { cert: string; key: string };
}

/** A CA, a second CA, a client cert (clientAuth) and a serverAuth-only cert signed by the first, an untrusted self-signed client cert. */
export function makeCerts(dir: string): Certs {
  fs.mkdirSync(dir, { recursive: true });
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'];
  for (const name of ['ca', 'ca2']) {
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  }
  const signed = (name: string, subject: string, usage: string, serial: string) => {
    fs.writeFileSync(
      path.join(dir, `${name}.ext`),
      `extendedKeyUsage=${usage}\nkeyUsage=critical,digitalSignature\n`,
    );
    openssl(
      'req',
      '-new',
      ...ec.slice(0, 5),
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subject,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      serial,
      '-days',
      '2',
      '-out',
      `${name}.crt`,
      '-extfile',
      `${name}.ext`,
    );
  };
  signed('client', '/CN=kube-apiserver-kubelet-client/O=kubeadm:cluster-admins', 'clientAuth', '0x1001');
  signed('server-only', '/CN=wrong-usage', 'serverAuth', '0x1002');
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'untrusted.key',
    '-out',
    'untrusted.crt',
    '-subj',
    '/CN=intruder',
    '-addext',
    'extendedKeyUsage=clientAuth',
  );
  const pair = (name: string) => ({
    cert: fs.readFileSync(path.join(dir, `${name}.crt`), 'utf8'),
    key: fs.readFileSync(path.join(dir, `${name}.key`), 'utf8'),
  });
  return {
    ca: path.join(dir, 'ca.crt'),
    ca2: path.join(dir, 'ca2.crt'),
    client: pair('client'),
    serverOnly: pair('server-only'),
    untrusted: pair('untrusted'),
  };
}

export interface Reply {
  status: number;
  body: string;
}

/** GET over HTTPS to 127.0.0.1, optionally with a client certificate; the server cert is not checked. */
export function httpsGet(
  port: number,
  urlPath: string,
  client?: { cert: string; key: string },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port, path: urlPath, rejectUnauthorized: false, agent: false, ...client },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
  });
}

export function httpGet(port: number, urlPath: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** Polls until the URL answers (any status), e.g. while a server starts. */
export function waitForReply(get: () => Promise<Reply>, what: string, timeoutMs = 10_000): Promise<Reply> {
  return waitFor(() => get().catch(() => undefined), what, timeoutMs);
}

/** The parts of /configz the tests look at. */
export interface Configz {
  authentication: {
    x509: { clientCAFile?: string };
    anonymous: { enabled: boolean };
    webhook: { enabled: boolean };
  };
  authorization: { mode: string };
  staticPodPath?: string;
  readOnlyPort: number;
  clusterDNS?: string[];
  clusterDomain?: string;
  maxPods?: number;
}

/** The kubelet's effective configuration, read as an authorized client would. */
export async function readConfigz(port: number, client?: { cert: string; key: string }): Promise<Configz> {
  const reply = await httpsGet(port, '/configz', client);
  if (reply.status !== 200) throw new Error(`/configz answered ${reply.status}`);
  return (JSON.parse(reply.body) as { kubeletconfig: Configz }).kubeletconfig;
}

export interface RunningKubelet {
  proc: SimProcess;
  port: number;
  healthzPort: number;
}

/** Starts a kubelet on free loopback ports and waits until its healthz answers. */
export async function startKubelet(
  lab: LabDir,
  args: string[],
  env: Record<string, string> = {},
): Promise<RunningKubelet> {
  const port = await freePort();
  const healthzPort = await freePort();
  const proc = lab.run(
    'kubelet',
    [
      '--root-dir',
      lab.path('root'),
      '--address',
      '127.0.0.1',
      '--port',
      String(port),
      '--healthz-port',
      String(healthzPort),
      ...args,
    ],
    env,
  );
  await Promise.race([
    waitForReply(() => httpGet(healthzPort, '/healthz'), 'kubelet healthz'),
    proc.exited.then((code) => {
      throw new Error(`kubelet exited with ${code}:\n${proc.stderr}`);
    }),
  ]);
  return { proc, port, healthzPort };
}
