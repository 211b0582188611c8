import { CERT_FLAG, KEY_FLAG } from './check.js';
import { clientCertProblem, issuedBy, parsePemBundle } from '../certs.js';
import type { AuditResult } from '../types.js';
import { EditError } from '../../edits/result.js';
import { setApiserverFlags } from '../../edits/apiserver-manifest.js';
import { lastFlag } from '../../facts/flags.js';
import type { NodeModel } from '../../facts/model.js';
import type { Playbook } from '../../playbook/types.js';
import { fileChange, type PlanContext, type PlanPart } from '../../plan/change.js';
import type { IssueCert } from '../../plan/types.js';

const CONTROL = 'apiserver-kubelet-client-cert' as const;

const block = (reason: string, fix: string): PlanPart => ({ blocked: [{ control: CONTROL, reason, fix }] });

/** Why this cert/key pair cannot be used, or undefined when it can (preflight, DESIGN.md). */
export function pairProblem(
  model: NodeModel,
  cert: string,
  key: string,
  now: Date,
  /** The kubelet client CA to cross-check against when the node's kubelet has none yet. */
  plannedCa?: string,
): string | undefined {
  const { facts } = model;
  const certFile = facts.files.get(cert);
  if (!certFile || certFile.status === 'missing') return `certificate ${cert} does not exist`;
  if (certFile.status !== 'ok') return `certificate ${cert} is not readable`;
  const keyFile = facts.stats.get(key);
  if (!keyFile || keyFile.status === 'missing') return `key ${key} does not exist`;
  if (keyFile.status !== 'ok') return `key ${key} is not readable`;
  const [parsed] = parsePemBundle(certFile.content ?? '');
  if (!parsed) return `${cert} holds no PEM certificate`;
  const problem = clientCertProblem(parsed, now);
  if (problem) return `certificate ${cert} ${problem}`;
  const pair = facts.pairs.find((p) => p.cert === cert && p.key === key)?.result;
  if (pair === 'mismatch') return `key ${key} does not belong to certificate ${cert}`;
  if (pair === 'badkey') return `key ${key} is not a readable unencrypted private key`;
  if (pair !== 'match' && pair !== 'noopenssl')
    return `the pair ${cert} / ${key} could not be checked on the node`;
  const current = model.kubelet.clientCAFile?.value;
  const caPath = current && facts.files.get(current)?.status === 'ok' ? current : plannedCa;
  const ca = caPath ? facts.files.get(caPath) : undefined;
  const cas = ca?.status === 'ok' ? parsePemBundle(ca.content ?? '') : [];
  if (cas.length > 0 && !issuedBy(parsed, cas))
    return `certificate ${cert} is not signed by the kubelet client CA ${caPath ?? ''}: kubelets would answer the kube-apiserver with 401`;
  return undefined;
}

/** Plans --kubelet-client-certificate/--kubelet-client-key in the kube-apiserver's static pod manifest. */
export function planApiserverClientCert(
  model: NodeModel,
  result: AuditResult,
  playbook: Playbook,
  ctx: PlanContext,
  now: Date,
): PlanPart {
  if (result.status === 'pass' || result.status === 'skip') return {};
  if (result.status === 'error')
    return block(result.reason, 'fix the manifest so it parses, then plan again');
  const { apiserver } = model;
  const manifest = apiserver.manifest;
  if (!manifest)
    return block(
      'the kube-apiserver does not run from a static pod manifest here',
      'kubemend edits static pod manifests only; add the two flags to the kube-apiserver service by hand',
    );
  if (apiserver.shadowed.length > 0)
    return block(
      `${apiserver.shadowed.join(', ')} and ${manifest.path} all define the kube-apiserver pod in ${apiserver.staticPodDir}`,
      `move the copies that are not meant to run out of ${apiserver.staticPodDir} (the kubelet reads every non-dot file there), then plan again`,
    );
  const manCert = lastFlag(manifest.flags, CERT_FLAG)?.value;
  const manKey = lastFlag(manifest.flags, KEY_FLAG)?.value;

  // The manifest already points at a usable pair: the fix is not an edit.
  const plannedCa = playbook.kubelet.clientCAFile;
  if (manCert && manKey && !pairProblem(model, manCert, manKey, now, plannedCa)) {
    return block(
      `the manifest ${manifest.path} is already right, but ${result.reason}`,
      'check why the kubelet has not restarted the kube-apiserver: journalctl -u kubelet, crictl ps -a --name kube-apiserver',
    );
  }
  const target = playbook.apiserver;
  if (!target)
    return block(
      `playbook ${playbook.name} has no apiserver section`,
      "choose a playbook for this layout with -p, or add apiserver paths to the node's params",
    );
  let issue: IssueCert | undefined;
  const problem = pairProblem(
    model,
    target.kubeletClientCertificate,
    target.kubeletClientKey,
    now,
    plannedCa,
  );
  if (problem) {
    const issuable = ctx.issueCerts ? issuePlan(model, target, plannedCa) : undefined;
    if (typeof issuable === 'string') return block(issuable, target.fix || 'create the pair by hand');
    if (!issuable)
      return block(
        problem,
        `${target.fix || `create the pair ${target.kubeletClientCertificate} / ${target.kubeletClientKey}`}${
          target.issue && !ctx.issueCerts
            ? ', or plan with --issue-certs to sign one on the node with the cluster CA'
            : ''
        }`,
      );
    issue = issuable;
  }

  // The kube-apiserver runs in a container: a file outside its hostPath mounts does not exist for
  // it (node-facts §3), and the flags carry host paths, so the mount must show them at the same path.
  const unseen = [target.kubeletClientCertificate, target.kubeletClientKey].filter(
    (p) => manifest.mounts && !visibleInPod(p, manifest.mounts),
  );
  if (unseen.length > 0)
    return block(
      `the kube-apiserver pod in ${manifest.path} does not mount ${unseen.join(' and ')} at the same path (its hostPath mounts: ${
        manifest.mounts
          ?.map((m) => (m.hostPath === m.mountPath ? m.hostPath : `${m.hostPath} at ${m.mountPath}`))
          .join(', ') || 'none'
      }): the kube-apiserver would not find ${unseen.length > 1 ? 'them' : 'it'} and would not start`,
      'use a pair under a mounted directory (params apiserver.kubeletClientCertificate and apiserver.kubeletClientKey), or add a hostPath volume for it to the manifest',
    );

  const before = model.facts.files.get(manifest.path);
  if (before?.status !== 'ok' || before.truncated || before.content === undefined)
    return block(`${manifest.path} could not be read in full from the node`, 'check the file on the node');
  let after: string;
  try {
    after = setApiserverFlags(before.content, [
      { name: CERT_FLAG, value: target.kubeletClientCertificate },
      { name: KEY_FLAG, value: target.kubeletClientKey },
    ]).content;
  } catch (e) {
    if (e instanceof EditError) return block(e.message, `edit ${manifest.path} by hand`);
    throw e;
  }
  const notes =
    model.layout === 'kubeadm'
      ? [
          "kubeadm upgrade regenerates this manifest; kubeadm's own defaults include both flags, so an upgrade keeps them",
        ]
      : [];
  return {
    ...(issue ? { issue: [issue] } : {}),
    changes: [
      fileChange(ctx, {
        control: CONTROL,
        path: manifest.path,
        before: before.content,
        after,
        restart: 'static-pod:kube-apiserver',
        notes,
      }),
    ],
  };
}

/**
 * --issue-certs: whether the missing pair can be signed on the node by the cluster CA. Returns the
 * recipe, a reason why not (string), or undefined when the playbook has no recipe.
 */
function issuePlan(
  model: NodeModel,
  target: NonNullable<Playbook['apiserver']>,
  plannedCa: string,
): IssueCert | string | undefined {
  const recipe = target.issue;
  if (!recipe) return undefined;
  const { facts } = model;
  const present = [target.kubeletClientCertificate, target.kubeletClientKey].filter((p) =>
    [facts.files.get(p)?.status, facts.stats.get(p)?.status].some((st) => st === 'ok' || st === 'unreadable'),
  );
  if (present.length > 0)
    return `--issue-certs creates a new pair only where neither file exists, but ${present.join(' and ')} exists: kubemend does not overwrite key material`;
  if (!facts.tools['openssl']) return '--issue-certs needs openssl on the node to sign the certificate there';
  const caCert = facts.files.get(recipe.caCertificate);
  const [ca] = caCert?.status === 'ok' ? parsePemBundle(caCert.content ?? '') : [];
  if (!ca)
    return `--issue-certs: the cluster CA certificate ${recipe.caCertificate} is missing or unreadable`;
  if (facts.stats.get(recipe.caKey)?.status !== 'ok')
    return `--issue-certs: the cluster CA key ${recipe.caKey} is missing or unreadable (an external CA?)`;
  // The kubelets must trust the signer, or every kubectl logs/exec would get 401.
  const bundle = facts.files.get(model.kubelet.clientCAFile?.value ?? plannedCa);
  const trusted = bundle?.status === 'ok' ? parsePemBundle(bundle.content ?? '') : [];
  if (trusted.length > 0 && !trusted.some((t) => t.fingerprint256 === ca.fingerprint256))
    return `--issue-certs: the kubelet client CA does not contain ${recipe.caCertificate}, so kubelets would reject a certificate it signs`;
  return {
    control: CONTROL,
    certificate: target.kubeletClientCertificate,
    key: target.kubeletClientKey,
    caCertificate: recipe.caCertificate,
    caKey: recipe.caKey,
    subject: recipe.subject,
    days: recipe.days,
  };
}

/** A host path the container sees at the same path: under a hostPath volume mounted where it is. */
function visibleInPod(path: string, mounts: readonly { hostPath: string; mountPath: string }[]): boolean {
  return mounts.some((m) => {
    const dir = m.hostPath.replace(/\/+$/, '');
    return m.mountPath.replace(/\/+$/, '') === dir && (path === dir || path.startsWith(`${dir}/`));
  });
}
