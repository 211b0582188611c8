import { lastFlag } from '../../facts/flags.js';
import { isEks } from '../../facts/layout.js';
import type { NodeModel } from '../../facts/model.js';
import { clientCertProblem, describeCert, issuedBy, parsePemBundle } from '../certs.js';
import { unsupportedSkip } from '../skip.js';
import type { ControlCheck, Evidence } from '../types.js';

export const CERT_FLAG = 'kubelet-client-certificate';
export const KEY_FLAG = 'kubelet-client-key';

type Outcome = ReturnType<ControlCheck['check']>;

export const apiserverKubeletClientCertCheck: ControlCheck = {
  id: 'apiserver-kubelet-client-cert',
  aliases: ['cis-k8s-1.2.5', 'cis-k8s-1.2.4'],
  benchmarks: ['CIS Kubernetes 1.2.5', 'CIS Kubernetes 1.2.4'],
  title: 'The kube-apiserver authenticates to kubelets with a client certificate',
  check(model: NodeModel, now: Date): Outcome {
    const { apiserver, layout, facts } = model;
    if (isEks(layout) || layout === 'aks')
      return {
        status: 'skip',
        reason: `${layout === 'aks' ? 'AKS' : 'EKS'}: the control plane is managed by ${layout === 'aks' ? 'Azure' : 'AWS'}; there is no kube-apiserver on this node to check`,
        evidence: [],
        warnings: [],
      };
    const unsupported = unsupportedSkip(layout);
    if (unsupported) return unsupported;
    if (!apiserver.process && !apiserver.manifest)
      return { status: 'skip', reason: 'no kube-apiserver on this node', evidence: [], warnings: [] };

    const evidence: Evidence[] = [];
    const warnings: string[] = [];
    const fail = (reason: string): Outcome => ({ status: 'fail', reason, evidence, warnings });
    for (const path of apiserver.shadowed)
      warnings.push(
        `${apiserver.manifest?.path ?? ''} wins, but ${path} in the static pod directory also defines the kube-apiserver pod; the kubelet reads every non-dot file there: move ${path} out of ${apiserver.staticPodDir}`,
      );

    const procSource = apiserver.process ? `/proc/${apiserver.process.pid}/cmdline` : '';
    const procCert = lastFlag(apiserver.processFlags, CERT_FLAG);
    const procKey = lastFlag(apiserver.processFlags, KEY_FLAG);
    const manCert = apiserver.manifest ? lastFlag(apiserver.manifest.flags, CERT_FLAG) : undefined;
    const manKey = apiserver.manifest ? lastFlag(apiserver.manifest.flags, KEY_FLAG) : undefined;
    // Where the values were looked for, also when they are missing: a reviewer sees what was read.
    if (apiserver.process)
      evidence.push({
        source: procSource,
        key: 'process',
        value: `kube-apiserver, pid ${apiserver.process.pid}`,
      });
    if (apiserver.manifest)
      evidence.push({
        source: apiserver.manifest.path,
        key: 'manifest',
        value: 'defines the kube-apiserver pod',
      });
    if (apiserver.process) {
      for (const f of [procCert, procKey])
        if (f) evidence.push({ source: procSource, key: `--${f.name}`, value: f.value });
    }
    if (apiserver.manifest) {
      for (const f of [manCert, manKey])
        if (f) evidence.push({ source: apiserver.manifest.path, key: `--${f.name}`, value: f.value });
      if (apiserver.manifest.error)
        return { status: 'error', reason: apiserver.manifest.error, evidence, warnings };
    }

    const missing = (cert: typeof procCert, key: typeof procKey) =>
      [!cert?.value && `--${CERT_FLAG}`, !key?.value && `--${KEY_FLAG}`].filter(Boolean).join(' and ');

    if (!apiserver.process)
      return fail(
        `no kube-apiserver process is running; its manifest ${apiserver.manifest?.path ?? ''} ${
          missing(manCert, manKey) ? `lacks ${missing(manCert, manKey)}` : 'sets both flags'
        }`,
      );
    const procMissing = missing(procCert, procKey);
    if (procMissing) {
      const inManifest = apiserver.manifest && !missing(manCert, manKey);
      return fail(
        `${procMissing} ${procMissing.includes(' and ') ? 'are' : 'is'} not set on the running kube-apiserver${
          inManifest
            ? ` (the manifest ${apiserver.manifest?.path ?? ''} has them: the kube-apiserver has not restarted since)`
            : ''
        }`,
      );
    }
    if (apiserver.manifest) {
      const manMissing = missing(manCert, manKey);
      if (manMissing)
        return fail(
          `the running kube-apiserver has both flags but its manifest ${apiserver.manifest.path} lacks ${manMissing}: the next restart would drop them`,
        );
      if (manCert?.value !== procCert?.value || manKey?.value !== procKey?.value)
        return fail(
          `the manifest ${apiserver.manifest.path} and the running kube-apiserver disagree on the kubelet client certificate or key`,
        );
    } else {
      warnings.push(
        'no static pod manifest found for the kube-apiserver (is it a systemd service?); only the running process was checked',
      );
    }

    const certPath = procCert?.value ?? '';
    const keyPath = procKey?.value ?? '';
    const certFile = facts.files.get(certPath);
    if (!certFile || certFile.status === 'missing') return fail(`certificate ${certPath} does not exist`);
    if (certFile.status !== 'ok') return fail(`certificate ${certPath} is not readable (${certFile.status})`);
    const keyFile = facts.stats.get(keyPath);
    if (!keyFile || keyFile.status === 'missing') return fail(`key ${keyPath} does not exist`);
    if (keyFile.status !== 'ok') return fail(`key ${keyPath} is not readable by this user`);
    const [cert] = parsePemBundle(certFile.content ?? '');
    if (!cert) return fail(`${certPath} holds no PEM certificate`);
    evidence.push({ source: certPath, key: 'certificate', value: describeCert(cert) });
    const problem = clientCertProblem(cert, now);
    if (problem) return fail(`certificate ${certPath} ${problem}`);

    const pair = facts.pairs.find((p) => p.cert === certPath && p.key === keyPath);
    switch (pair?.result) {
      case 'match':
        evidence.push({
          source: keyPath,
          key: 'pair',
          value: 'public keys match (checked on the node with openssl)',
        });
        break;
      case 'mismatch':
        return fail(`key ${keyPath} does not belong to certificate ${certPath}`);
      case 'badkey':
        return fail(`key ${keyPath} is not a readable unencrypted private key`);
      case 'badcert':
        return fail(`certificate ${certPath} could not be read by openssl`);
      default:
        warnings.push(
          'pair not verified: openssl is not available on the node to compare the certificate with its key',
        );
    }

    const ca = model.kubelet.clientCAFile?.value;
    const caFile = ca ? facts.files.get(ca) : undefined;
    if (caFile?.status === 'ok') {
      const cas = parsePemBundle(caFile.content ?? '');
      if (cas.length > 0 && !issuedBy(cert, cas))
        warnings.push(
          `certificate ${certPath} does not verify against the kubelet client CA ${ca} on this node: kubectl logs/exec would get 401 from kubelets that use this CA`,
        );
    }
    return {
      status: 'pass',
      reason: `--${CERT_FLAG}=${certPath} and --${KEY_FLAG}=${keyPath} on the running kube-apiserver and in its manifest`,
      evidence,
      warnings,
    };
  },
};
