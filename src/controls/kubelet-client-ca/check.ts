import type { Sourced } from '../../facts/kubelet.js';
import type { NodeModel } from '../../facts/model.js';
import { kubeconfigCa } from '../../fleet/clusters.js';
import { parsePemBundle } from '../certs.js';
import { openDoor } from './open-door.js';
import { writesFile } from './writers.js';
import { unsupportedSkip } from '../skip.js';
import type { ControlCheck, Evidence } from '../types.js';

function describeSource(s: Sourced): string {
  if (s.layer === 'flag')
    return s.via ? `the ${s.key} flag (set in ${s.via.file} via $${s.via.variable})` : `the ${s.key} flag`;
  return `${s.key} in ${s.layer === 'drop-in' ? 'drop-in ' : ''}${s.source}`;
}

function clientCaEvidence(s: Sourced): Evidence[] {
  const evidence: Evidence[] = [{ source: s.source, key: s.key, value: s.value }];
  if (s.via)
    evidence.push({ source: s.via.file, key: s.via.variable, value: `(contains ${s.key}=${s.value})` });
  return evidence;
}

export const kubeletClientCaCheck: ControlCheck = {
  id: 'kubelet-client-ca',
  aliases: ['cis-eks-3.2.3', 'cis-k8s-4.2.3'],
  benchmarks: ['CIS Amazon EKS 3.2.3', 'CIS Kubernetes 4.2.3'],
  title: 'The kubelet verifies client certificates against a client CA',
  check(model: NodeModel) {
    const { kubelet, layout } = model;
    const unsupported = unsupportedSkip(layout);
    if (unsupported) return unsupported;
    if (!kubelet.present) {
      const stray = [...model.facts.files.values()].filter(
        (f) => f.status === 'ok' && /kubelet.*\.(ya?ml|json|conf)$/.test(f.path),
      );
      return {
        status: 'skip',
        reason: 'no kubelet on this node (no kubelet process and no kubelet.service unit)',
        evidence: [],
        warnings: stray.map((f) => `${f.path} exists but no kubelet uses it`),
      };
    }
    const evidence: Evidence[] = [];
    const warnings: string[] = [];
    if (!kubelet.process)
      warnings.push('the kubelet is not running; the result is read from its systemd unit and files');
    // Where the kubelet's command line was read, and the unit line that sets it: every result names
    // its sources, also when no setting is found anywhere (a command-line-only kubelet).
    if (kubelet.process)
      evidence.push({
        source: kubelet.argvSource,
        key: 'process',
        value: `kubelet, pid ${kubelet.process.pid}`,
      });
    const exec = kubelet.service?.execStart;
    if (exec)
      evidence.push({
        source: exec.source,
        key: exec.lineNumber ? `ExecStart (line ${exec.lineNumber})` : 'ExecStart',
        value: exec.line,
      });
    else if (kubelet.service?.files[0])
      evidence.push({
        source: kubelet.service.files[0].path,
        key: 'unit',
        value: 'kubelet.service (no ExecStart=)',
      });
    if (kubelet.config)
      evidence.push({ source: kubelet.argvSource, key: '--config', value: kubelet.config.path });
    if (kubelet.configDir)
      evidence.push({ source: kubelet.argvSource, key: '--config-dir', value: kubelet.configDir.path });
    for (const d of kubelet.configDir?.dropIns ?? [])
      evidence.push({ source: d.path, key: 'drop-in', value: 'merged' });

    const ca = kubelet.clientCAFile;
    if (ca) evidence.push(...clientCaEvidence(ca));
    const door = openDoor(kubelet.settings);
    if (door) {
      warnings.push(door.text);
      evidence.push(...door.evidence);
    }
    for (const s of kubelet.dropInSpellings)
      warnings.push(
        `${s.path} spells the key "${s.key}": drop-in keys match case-insensitively, so it counts, but of two spellings the kubelet takes the one that sorts later in byte order, whatever the order of the files; write authentication.x509.clientCAFile`,
      );

    if (kubelet.errors.length > 0 && !(ca?.layer === 'flag'))
      return { status: 'error', reason: kubelet.errors.join('; '), evidence, warnings };
    warnings.push(...kubelet.errors);

    if (!ca || ca.value === '') {
      const hint = kubelet.wrongCase[0];
      if (hint)
        return {
          status: 'fail',
          reason: `no client CA is set: ${hint.path} has "${hint.key}", which the kubelet silently ignores (field names are case-sensitive); the key is authentication.x509.clientCAFile`,
          evidence: [...evidence, { source: hint.path, key: hint.key, value: '(ignored by the kubelet)' }],
          warnings,
        };
      const where = ca
        ? `${describeSource(ca)} is empty`
        : 'neither --client-ca-file nor authentication.x509.clientCAFile is set';
      return {
        status: 'fail',
        reason: `no client CA: ${where}, so the kubelet does not verify who calls its API`,
        evidence,
        warnings,
      };
    }
    const file = model.facts.files.get(ca.value);
    if (!file || file.status === 'missing')
      return {
        status: 'fail',
        reason: `client CA file ${ca.value} (from ${describeSource(ca)}) does not exist; the kubelet will not start with it`,
        evidence,
        warnings,
      };
    if (file.status !== 'ok')
      return {
        status: 'fail',
        reason: `client CA file ${ca.value} (from ${describeSource(ca)}) is not readable: ${file.status}`,
        evidence,
        warnings,
      };
    const certs = parsePemBundle(file.content ?? '');
    if (certs.length === 0)
      return {
        status: 'fail',
        reason: `client CA file ${ca.value} holds no PEM certificate; the kubelet will not start with it`,
        evidence,
        warnings,
      };
    evidence.push({ source: ca.value, key: 'certificates', value: String(certs.length) });
    const writer = regeneratedBy(model, ca.value);
    if (writer) {
      evidence.push({ source: writer.source, key: 'ExecStartPre', value: writer.line });
      warnings.push(
        `the client CA file ${ca.value} is written by an ExecStartPre= of kubelet.service (${writer.source}) when the kubelet starts: a change made to the file by hand may not last; change what that command copies from instead`,
      );
    }
    // The cluster CA the kubelet's own kubeconfig trusts (pitfalls #9): one CA signs both in the usual layouts.
    const cluster = kubeconfigCa(model);
    if (cluster && !cluster.certs.some((c) => certs.some((x) => x.fingerprint256 === c.fingerprint256)))
      warnings.push(
        `the client CA ${ca.value} does not hold the cluster CA that the kubelet's kubeconfig ${cluster.source} trusts: where the apiserver's kubelet client certificate is signed by the cluster CA (kubeadm, EKS and kubespray do this), kubectl logs and exec on this node get 401 Unauthorized`,
      );
    return {
      status: 'pass',
      reason: `client CA ${ca.value} from ${describeSource(ca)}`,
      evidence,
      warnings,
    };
  },
};

/** The kubelet unit's ExecStartPre= that writes `path` when the kubelet starts (Flatcar/Typhoon copy the CA so). */
export function regeneratedBy(model: NodeModel, path: string): { line: string; source: string } | undefined {
  return model.kubelet.service?.execStartPre.find((e) => writesFile(e.line, path));
}
