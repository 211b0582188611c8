// Runs the first container of each static pod as a host process, with the kubelet's crash-loop
// restarts. Under systemd each pod is a transient unit (systemd-run) in the pod's slice of the
// kubelet's pod cgroups, where the systemd cgroup driver puts a static pod (burstable QoS:
// kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice), outside the
// kubelet's own unit, so pods outlive `systemctl restart kubelet` as containers under containerd do.
// Without systemd (host tests) pods are detached process groups. Every pod is recorded in
// <stateDir>/<namespace>_<name>.json so that a restarted kubelet adopts pods whose manifest hash
// still matches and replaces the others.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const POD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// Lab speed-up: the real back-off runs 10 s, 20 s, … 5 min and resets after 10 min of running.
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 10_000;
const RESET_AFTER_MS = 10_000;
const STOP_GRACE_MS = 10_000;

const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function isExecutableFile(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The pod's slice as the kubelet's systemd cgroup driver names it: CgroupName{kubepods, burstable,
 * pod<uid>} joined with "-" after "-" in each part became "_" (kubernetes pkg/kubelet/cm
 * cgroup_manager_linux.go ToSystemd). systemd makes kubepods.slice and kubepods-burstable.slice
 * its parents from the dashes. A static pod's uid is the kubelet's hash of its source and pod, 32
 * hex digits with no dashes (pkg/kubelet/config/common.go applyDefaults: md5, hex-encoded); here the
 * pod hash's first 32 hex digits. A pod from the API server has a UUID (dashes, `_` in the slice).
 */
export function podSlice(hash) {
  const uid = hash.slice(0, 32).padEnd(32, '0');
  return `kubepods-burstable-pod${uid}.slice`;
}

/** The container's command as found on this node, or null: the image would bring it, the node does not. */
function resolveBinary(command) {
  const candidates = command.includes('/')
    ? [command]
    : POD_PATH.split(':').map((dir) => path.join(dir, command));
  return candidates.find(isExecutableFile) ?? null;
}

/** Alive and not a zombie (a dead child stays a zombie until Node's event loop reaps it). */
function isAlive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // Not a group leader (or already gone): signal the process alone.
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

const systemctl = (...args) =>
  execFileSync('systemctl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function unitStatus(unit) {
  const props = Object.fromEntries(
    systemctl('show', unit, '-p', 'ActiveState', '-p', 'ExecMainCode', '-p', 'ExecMainStatus')
      .trim()
      .split('\n')
      .map((line) => line.split('=')),
  );
  const running = ['active', 'activating', 'deactivating', 'reloading'].includes(props.ActiveState);
  // ExecMainCode: 1 exited (status = exit code), 2 killed / 3 dumped (status = signal number).
  const exited = props.ExecMainCode === '1';
  return {
    running,
    exitCode: exited ? Number(props.ExecMainStatus) : null,
    signal: exited ? null : Number(props.ExecMainStatus) || null,
  };
}

export class PodRunner {
  /** @param {{ stateDir: string, useSystemd: boolean, log: object }} options */
  constructor({ stateDir, useSystemd, log }) {
    this.stateDir = stateDir;
    this.useSystemd = useSystemd;
    this.log = log;
    this.pods = new Map(); // key → record
    this.exits = new Map(); // pid → { code, signal } for children of this kubelet
    fs.mkdirSync(stateDir, { recursive: true });
    for (const name of fs.readdirSync(stateDir).filter((n) => n.endsWith('.json'))) {
      const record = JSON.parse(fs.readFileSync(path.join(stateDir, name), 'utf8'));
      this.pods.set(record.key, { ...record, failures: 0, restartAt: null, adopted: true });
    }
  }

  /**
   * Stops every pod unit that no record names: a pod the kubelet does not know. The kubelet finds
   * those in the runtime and kills them (pkg/kubelet/kubelet_pods.go HandlePodCleanups, "orphaned
   * runtime pods"); here they come from a kubelet stopped in the middle of a pod switch: systemd's
   * SIGTERM to kubelet.service reaches its `systemctl stop` child too, the old pod's record is gone
   * and the old pod may keep running beside the new one (two static kube-apiservers).
   */
  stopOrphans() {
    if (!this.useSystemd) return;
    const known = new Set([...this.pods.values()].map((r) => r.unit && `${r.unit}.service`));
    let listed = '';
    try {
      listed = systemctl('list-units', '--all', '--plain', '--no-legend', '--type=service', 'kubelet-pod-*');
    } catch (err) {
      this.log.error('Failed to list pod units', { err });
      return;
    }
    for (const line of listed.split('\n')) {
      const [unit, , active] = line.trim().split(/\s+/);
      if (!unit || known.has(unit) || !['active', 'activating', 'reloading'].includes(active)) continue;
      try {
        systemctl('stop', unit);
        systemctl('reset-failed', unit);
      } catch {
        // already gone
      }
      this.log.info('Killed orphaned pod', { unit });
    }
  }

  /** Makes the running pods match the desired set (Map key → entry from static-pod-source). */
  sync(desired) {
    this.stopOrphans();
    for (const [key, record] of this.pods) {
      const wanted = desired.get(key);
      if (wanted?.hash === record.hash) {
        if (record.adopted) {
          this.log.info('Adopted static pod from a previous kubelet', {
            pod: key,
            pid: record.pid,
            unit: record.unit,
          });
          record.adopted = false;
        }
        continue;
      }
      this.stop(record, wanted ? 'manifest changed' : 'manifest removed');
    }
    for (const [key, entry] of desired) {
      if (!this.pods.has(key)) this.start(entry);
    }
  }

  start(entry) {
    const container = entry.pod.spec.containers[0];
    const command = (container.command ?? []).map(String);
    const argv = [...command, ...(container.args ?? []).map(String)];
    const record = {
      key: entry.key,
      namespace: entry.namespace,
      name: entry.name,
      file: entry.file,
      hash: entry.hash,
      argv,
      binary: command.length > 0 ? resolveBinary(command[0]) : null,
      unit: null,
      pid: null,
      startedAt: null,
      failures: 0,
      restartAt: null,
    };
    this.pods.set(entry.key, record);
    if (record.binary) {
      this.launch(record);
    } else {
      this.log.info('No binary for the static pod on this node, simulating it without a process', {
        pod: entry.key,
        command: command[0] ?? '',
      });
      this.save(record);
    }
  }

  launch(record) {
    record.startedAt = Date.now();
    try {
      record.pid = this.useSystemd ? this.runUnit(record) : this.spawnDetached(record);
    } catch (err) {
      // Like a container that fails to start: logged, then retried with back-off.
      this.log.error('Failed to start static pod', { pod: record.key, err });
      record.pid = null;
    }
    this.save(record);
    this.log.info('Started static pod', {
      pod: record.key,
      pid: record.pid,
      unit: record.unit,
      file: record.file,
    });
  }

  runUnit(record) {
    record.unit = `kubelet-pod-${record.name}-${record.hash.slice(0, 8)}`;
    try {
      // A failed unit of that name from an earlier run would block the name.
      systemctl('reset-failed', record.unit);
    } catch {
      // no such unit
    }
    execFileSync(
      'systemd-run',
      [
        `--unit=${record.unit}`,
        `--slice=${podSlice(record.hash)}`,
        '--property=KillMode=control-group',
        `--property=TimeoutStopSec=${STOP_GRACE_MS / 1000}`,
        '--quiet',
        '--',
        record.binary,
        ...record.argv.slice(1),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return Number(systemctl('show', record.unit, '-p', 'MainPID', '--value').trim()) || null;
  }

  spawnDetached(record) {
    const out = fs.openSync(path.join(this.stateDir, `${record.namespace}_${record.name}.log`), 'a');
    const child = spawn(record.binary, record.argv.slice(1), {
      argv0: record.argv[0],
      detached: true,
      stdio: ['ignore', out, out],
      env: { PATH: POD_PATH },
    });
    fs.closeSync(out);
    child.on('error', () => {}); // a failed exec shows up as a dead pid in tick()
    child.on('exit', (code, signal) => this.exits.set(child.pid, { code, signal }));
    child.unref();
    return child.pid ?? null;
  }

  stop(record, reason) {
    this.pods.delete(record.key);
    fs.rmSync(this.statePath(record), { force: true });
    if (record.unit) {
      try {
        systemctl('stop', record.unit);
        systemctl('reset-failed', record.unit);
      } catch {
        // already gone
      }
    } else if (record.pid && isAlive(record.pid)) {
      signalGroup(record.pid, 'SIGTERM');
      const deadline = Date.now() + STOP_GRACE_MS;
      while (isAlive(record.pid) && Date.now() < deadline) sleepSync(50);
      if (isAlive(record.pid)) signalGroup(record.pid, 'SIGKILL');
    }
    this.log.info('Killed static pod', { pod: record.key, reason, pid: record.pid, unit: record.unit });
  }

  /** Called every second: notices exits and restarts with back-off. */
  tick() {
    const now = Date.now();
    for (const record of this.pods.values()) {
      if (!record.binary) continue;
      if (record.restartAt !== null) {
        if (now >= record.restartAt) {
          record.restartAt = null;
          this.launch(record);
        }
        continue;
      }
      const status = this.status(record);
      if (status.running) {
        if (now - record.startedAt >= RESET_AFTER_MS) record.failures = 0;
        continue;
      }
      record.failures += 1;
      const delay = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (record.failures - 1));
      record.restartAt = now + delay;
      this.log.info('Container exited', {
        pod: record.key,
        pid: record.pid,
        exitCode: status.exitCode,
        signal: status.signal,
      });
      this.log.error('Back-off restarting failed container', {
        pod: record.key,
        backOff: `${delay / 1000}s`,
      });
    }
  }

  status(record) {
    if (record.unit) return unitStatus(record.unit);
    const exit = this.exits.get(record.pid);
    return {
      running: record.pid !== null && isAlive(record.pid),
      exitCode: exit?.code ?? null,
      signal: exit?.signal ?? null,
    };
  }

  /** Pod phase for the /pods endpoint; a pod without a binary counts as running. */
  phase(key) {
    const record = this.pods.get(key);
    return record && (!record.binary || this.status(record).running) ? 'Running' : 'Pending';
  }

  statePath(record) {
    return path.join(this.stateDir, `${record.namespace}_${record.name}.json`);
  }

  save(record) {
    const { key, namespace, name, file, hash, argv, binary, unit, pid, startedAt } = record;
    const tmp = path.join(this.stateDir, `.${namespace}_${name}.json.tmp`);
    fs.writeFileSync(
      tmp,
      JSON.stringify({ key, namespace, name, file, hash, argv, binary, unit, pid, startedAt }),
    );
    fs.renameSync(tmp, this.statePath(record));
  }
}
