import { posix } from 'node:path';
import { issuedBy, parsePemBundle } from '../certs.js';
import { regeneratedBy } from './check.js';
import { openDoor } from './open-door.js';
import { rewrittenBy } from './rewritten.js';
import type { AuditResult } from '../types.js';
import { renderClientCADropIn } from '../../edits/kubelet-dropin.js';
import { setKubeletClientCA } from '../../edits/kubelet-config.js';
import { EditError } from '../../edits/result.js';
import { renderExecStartDropIn, setFlagOnExecStart } from '../../edits/execstart.js';
import {
  renderSystemdEnvDropIn,
  setFlagInEnvFile,
  setFlagInUnitEnvironment,
} from '../../edits/flags-text.js';
import { parseEnvFile } from '../../facts/envfile.js';
import { lastFlag } from '../../facts/flags.js';
import { kubeletView, walkOrder, type ConfigLayer } from '../../facts/kubelet.js';
import { splitSystemctlCat } from '../../facts/systemd.js';
import type { NodeFacts } from '../../facts/types.js';
import type { PlannedChange } from '../../plan/types.js';
import type { NodeModel } from '../../facts/model.js';
import type { Playbook } from '../../playbook/types.js';
import { fileChange, type PlanContext, type PlanPart } from '../../plan/change.js';

const CONTROL = 'kubelet-client-ca' as const;

/** The systemd drop-in kubemend may create for the flag; gathered so a plan knows whether it exists. */
export const KUBEMEND_UNIT_DROPIN = '/etc/systemd/system/kubelet.service.d/90-kubemend-client-ca.conf';
const ADMIN_ENV_FILES = ['/etc/default/kubelet', '/etc/sysconfig/kubelet'];

const formatOf = (
  layer: Pick<ConfigLayer, 'format'> | undefined,
  content: string | undefined,
): 'yaml' | 'json' => layer?.format ?? (content?.trimStart().startsWith('{') ? 'json' : 'yaml');

/** Systemd directories: a change there needs `systemctl daemon-reload`. */
const isUnitFile = (path: string) => /\.(service|conf)$/.test(path) && /\/systemd\//.test(path);

/** The CA bundle the fix points at, checked before anything is planned. */
function preflightCa(model: NodeModel, playbook: Playbook, caPath: string): PlanPart | undefined {
  const file = model.facts.files.get(caPath);
  const how = `copy the cluster CA bundle to ${caPath} on the node, or point kubelet.clientCAFile at the right file (inventory params or -p playbook)`;
  if (!file || file.status === 'missing')
    return {
      blocked: [
        { control: CONTROL, reason: `client CA bundle ${caPath} does not exist on the node`, fix: how },
      ],
    };
  if (file.status !== 'ok')
    return {
      blocked: [
        { control: CONTROL, reason: `client CA bundle ${caPath} is not readable (${file.status})`, fix: how },
      ],
    };
  const cas = parsePemBundle(file.content ?? '');
  if (cas.length === 0)
    return { blocked: [{ control: CONTROL, reason: `${caPath} holds no PEM certificate`, fix: how }] };
  // Cross-check (pitfall 9): a CA that did not sign the apiserver's kubelet client cert turns every
  // kubectl logs/exec into a 401 while the kubelet looks healthy.
  const apiCertPath =
    lastFlag(model.apiserver.processFlags, 'kubelet-client-certificate')?.value ||
    (model.apiserver.manifest &&
      lastFlag(model.apiserver.manifest.flags, 'kubelet-client-certificate')?.value) ||
    (model.role === 'control-plane' ? playbook.apiserver?.kubeletClientCertificate : undefined);
  const apiCert = apiCertPath ? model.facts.files.get(apiCertPath) : undefined;
  const [cert] = apiCert?.status === 'ok' ? parsePemBundle(apiCert.content ?? '') : [];
  if (cert && !issuedBy(cert, cas))
    return {
      blocked: [
        {
          control: CONTROL,
          reason: `the kube-apiserver's kubelet client certificate ${apiCertPath ?? ''} is not signed by ${caPath}: with this CA the kubelet would answer kubectl logs/exec with 401`,
          fix: `use the CA that signed ${apiCertPath ?? ''} (kubelet.clientCAFile), or reissue the apiserver's kubelet client certificate from ${caPath}`,
        },
      ],
    };
  return undefined;
}

/** A file kubemend creates for the kubelet client CA fix. */
const created = (
  ctx: PlanContext,
  path: string,
  after: string,
  restart: 'kubelet' | 'kubelet+daemon-reload',
  notes: string[],
): PlanPart => ({
  changes: [fileChange(ctx, { control: CONTROL, path, before: null, after, restart, notes })],
});

/**
 * Plans the kubelet client CA fix in the layer of the kubelet's configuration that wins, and proves
 * it: the node's facts with the planned files in place must give the kubelet exactly that CA (the
 * same reading as the audit: precedence, drop-in spellings, merge-patch nulls, ExecStart resets).
 */
export function planKubeletClientCa(
  model: NodeModel,
  result: AuditResult,
  playbook: Playbook,
  ctx: PlanContext,
): PlanPart {
  const part = withDurability(model, playbook, planFix(model, result, playbook, ctx));
  if (!part.changes?.length) return part;
  const after = kubeletView(withChanges(model.facts, part.changes));
  const caPath = playbook.kubelet.clientCAFile;
  if (after.clientCAFile?.value === caPath && after.errors.length === 0) {
    // Nothing changes silently: a CA alone does not close a kubelet that serves anonymous requests,
    // and a CA file the unit writes again at every start is that command's, not the admin's.
    const notes: string[] = [];
    const writer = regeneratedBy(model, caPath);
    if (writer)
      notes.push(
        `The client CA ${caPath} is written by an ExecStartPre= of kubelet.service (${writer.source}) when the kubelet starts: after this change the kubelet trusts whatever that command writes there, so it must be the CA that signs the apiserver's kubelet client certificate; kubemend does not change that command.`,
      );
    const door = openDoor(after.settings);
    if (door) notes.push(`After this change the kubelet still serves anyone: ${door.text}.`);
    if (notes.length === 0) return part;
    return { ...part, changes: part.changes.map((c) => ({ ...c, notes: [...c.notes, ...notes] })) };
  }
  const got = after.errors[0]
    ? after.errors[0]
    : after.clientCAFile
      ? `${after.clientCAFile.key} = ${JSON.stringify(after.clientCAFile.value)} from ${after.clientCAFile.source} would still win`
      : 'no client CA would be set';
  return {
    blocked: [
      {
        control: CONTROL,
        reason: `the change kubemend found (${part.changes.map((c) => c.path).join(', ')}) would not give the kubelet ${caPath}: ${got}`,
        fix: `set the client CA by hand in the file that wins (${after.clientCAFile?.source ?? 'see the audit evidence'})`,
      },
    ],
  };
}

/** A change to a file the layout's tooling writes again is `durable: false`, with what would last. */
function withDurability(model: NodeModel, playbook: Playbook, part: PlanPart): PlanPart {
  if (!part.changes) return part;
  return {
    ...part,
    changes: part.changes.map((c) => {
      const note = rewrittenBy(model.layout, c.path, model.facts, playbook);
      return note ? { ...c, durable: false, notes: [...c.notes, note] } : c;
    }),
  };
}

/**
 * The node as the kubelet would find it after the restart: the planned files written, the unit's
 * files and drop-ins as systemd would load them after a daemon-reload, and the kubelet started with
 * the command line the unit then gives.
 */
function withChanges(facts: NodeFacts, changes: readonly PlannedChange[]): NodeFacts {
  const files = new Map(facts.files);
  const dirs = new Map(facts.dirs);
  for (const c of changes) {
    const prev = files.get(c.path);
    files.set(c.path, {
      ...(prev ?? { mode: '644', uid: 0, gid: 0 }),
      path: c.path,
      status: 'ok',
      content: c.after.content,
      size: Buffer.byteLength(c.after.content),
      sha256: c.after.sha256,
      truncated: false,
    });
    const dir = posix.dirname(c.path);
    const listing = dirs.get(dir) ?? [];
    if (!listing.includes(posix.basename(c.path))) dirs.set(dir, [...listing, posix.basename(c.path)]);
  }
  const units = new Map(facts.units);
  const unit = facts.units.get('kubelet');
  if (unit) {
    const unitFiles = splitSystemctlCat(unit.cat).map((f) => ({
      path: f.path,
      text: files.get(f.path)?.content ?? f.text,
    }));
    for (const c of changes)
      if (c.action === 'create' && /\/kubelet\.service\.d\/[^/]+\.conf$/.test(c.path))
        unitFiles.push({ path: c.path, text: c.after.content });
    const [main, ...dropIns] = unitFiles;
    dropIns.sort((a, b) => (posix.basename(a.path) < posix.basename(b.path) ? -1 : 1));
    const cat = [main, ...dropIns]
      .filter((f) => f !== undefined)
      .map((f) => `# ${f.path}\n${f.text.replace(/\n?$/, '\n')}`)
      .join('\n');
    units.set('kubelet', { ...unit, cat });
  }
  const next: NodeFacts = { ...facts, files, dirs, units };
  // Restarted, the kubelet runs what its unit gives now (when it has one).
  const argv = kubeletView(next).unitArgv.map((w) => w.text);
  const running = kubeletView(facts).process;
  // (a new object: views are worked out once per facts object)
  return running && argv.length > 0
    ? { ...next, processes: facts.processes.map((p) => (p === running ? { ...p, argv } : p)) }
    : next;
}

/** Plans the kubelet client CA fix in the layer of the kubelet's configuration that wins. */
function planFix(model: NodeModel, result: AuditResult, playbook: Playbook, ctx: PlanContext): PlanPart {
  if (result.status === 'pass' || result.status === 'skip') return {};
  const { kubelet, facts } = model;
  if (result.status === 'error')
    return {
      blocked: [
        {
          control: CONTROL,
          reason: result.reason,
          fix: 'fix the kubelet configuration so it parses, then plan again',
        },
      ],
    };

  // Every kubelet fix ends with `systemctl restart kubelet`: a kubelet run by another unit (a
  // renamed service, a snap) would be changed and never restarted, and could not be rolled back.
  const unit = facts.units.get('kubelet');
  if (unit && unit.show['LoadState'] !== 'loaded')
    return {
      blocked: [
        {
          control: CONTROL,
          reason: `the kubelet${kubelet.process ? ` (pid ${kubelet.process.pid})` : ''} is not run by kubelet.service (${unit.show['LoadState'] || 'not found'}), which is the unit kubemend restarts`,
          fix: "make the change by hand and restart the kubelet's own service",
        },
      ],
    };

  const caPath = playbook.kubelet.clientCAFile;
  const blocked = preflightCa(model, playbook, caPath);
  if (blocked) return blocked;
  const text = (path: string) => {
    const f = facts.files.get(path);
    return f?.status === 'ok' && !f.truncated ? f.content : undefined;
  };
  const modify = (
    path: string,
    edit: (before: string) => string,
    restart: 'kubelet' | 'kubelet+daemon-reload',
    given: { durable?: boolean; notes?: string[] } = {},
  ): PlanPart => {
    const before = text(path);
    if (before === undefined)
      return {
        blocked: [
          {
            control: CONTROL,
            reason: `${path} could not be read in full from the node`,
            fix: 'check the file on the node',
          },
        ],
      };
    let after: string;
    try {
      after = edit(before);
    } catch (e) {
      throw e instanceof EditError ? e.inFile(path) : e;
    }
    return {
      changes: [fileChange(ctx, { control: CONTROL, path, before, after, restart, ...given })],
    };
  };
  const ca = kubelet.clientCAFile;

  // 1. A flag decides (it beats every file): change it where it is set.
  if (ca?.layer === 'flag') {
    if (!ca.via) return planExecStart(model, caPath, ctx, modify);
    const { file, variable } = ca.via;
    if (isUnitFile(file))
      return modify(
        file,
        (t) => setFlagInUnitEnvironment(t, variable, 'client-ca-file', caPath).content,
        'kubelet+daemon-reload',
      );
    return modify(file, (t) => setFlagInEnvFile(t, variable, 'client-ca-file', caPath).content, 'kubelet');
  }

  // 2. A wrong-case key or an empty value in a layer that wins: fix that file in place, unless
  // kubemend's own drop-in would sort after it (a drop-in of kubemend's own leaves files that node
  // tooling regenerates, such as nodeadm's 40-nodeadm.conf, alone and still wins).
  const layers = [...(kubelet.config?.data ? [kubelet.config] : []), ...(kubelet.configDir?.dropIns ?? [])];
  const ownDropIn = kubelet.configDir
    ? posix.join(kubelet.configDir.path, playbook.kubelet.dropInName)
    : undefined;
  const wrongCase = kubelet.wrongCase.at(-1);
  const winning = ca?.layer === 'drop-in' ? layers.find((l) => l.path === ca.source) : undefined;
  const deleter = kubelet.clientCADeletedBy;
  const target =
    winning ??
    (wrongCase ? layers.find((l) => l.path === wrongCase.path) : undefined) ??
    (deleter ? layers.find((l) => l.path === deleter) : undefined);
  // A drop-in that spells the key otherwise (clientCaFile) beats kubemend's clientCAFile whatever
  // the file order (drop-in keys fold case; the later spelling in byte order wins): fixed in place.
  const spelledOtherwise = winning !== undefined && ca?.key !== 'authentication.x509.clientCAFile';
  const ownWins =
    ownDropIn !== undefined &&
    !spelledOtherwise &&
    (target === undefined || walkOrder(target.path, ownDropIn) <= 0);
  if (target && !ownWins)
    return modify(target.path, (t) => setKubeletClientCA(t, caPath, formatOf(target, t)).content, 'kubelet');

  // 3. --config-dir: a drop-in of kubemend's own, sorted late so it wins over the base file.
  if (kubelet.configDir) {
    const path = ownDropIn ?? posix.join(kubelet.configDir.path, playbook.kubelet.dropInName);
    const existing = text(path);
    const format = formatOf(
      kubelet.configDir.dropIns.at(-1),
      kubelet.configDir.dropIns.at(-1) && text(kubelet.configDir.dropIns.at(-1)!.path),
    );
    if (existing !== undefined)
      return modify(path, (t) => setKubeletClientCA(t, caPath, formatOf(undefined, t)).content, 'kubelet');
    const template = format === 'json' ? ctx.templates.dropInJson : ctx.templates.dropInYaml;
    return created(ctx, path, renderClientCADropIn(template, caPath, format), 'kubelet', [
      `a drop-in in --config-dir ${kubelet.configDir.path}: merged over ${kubelet.config?.path ?? 'the built-in defaults'}, and left alone by tools that regenerate the base file`,
    ]);
  }

  // 4. The --config file (not durable where the layout's tooling renders it: see rewritten.ts).
  if (kubelet.config?.data)
    return modify(
      kubelet.config.path,
      (t) => setKubeletClientCA(t, caPath, formatOf(kubelet.config, t)).content,
      'kubelet',
    );

  // 5. Flags only: add --client-ca-file through a variable the kubelet's ExecStart expands.
  return planFlagOnly(model, caPath, ctx, modify);
}

type Modify = (
  path: string,
  edit: (t: string) => string,
  restart: 'kubelet' | 'kubelet+daemon-reload',
  given?: { durable?: boolean; notes?: string[] },
) => PlanPart;

/**
 * Unit files kubemend edits in place: the admin's own (/etc/systemd, /usr/local/lib/systemd). The
 * others belong to the OS packages (/usr/lib/systemd, /lib/systemd: an upgrade overwrites them) or
 * to the running system (/run: gone at the next boot), so a drop-in of kubemend's own overrides them.
 */
const ownedByAdmin = (path: string) => /^\/(?:etc|usr\/local\/lib)\/systemd\//.test(path);

/** Names for kubemend's ExecStart drop-in, in order of preference: the first that sorts last wins. */
const EXECSTART_DROPINS = [
  '90-kubemend-client-ca.conf',
  '99-kubemend-client-ca.conf',
  'zz-kubemend-client-ca.conf',
];

/**
 * A kubelet configured on its command line alone (no variable to carry the flag, or the flag written
 * on the line): --client-ca-file is set on the ExecStart= line that wins, in the file that sets it when
 * that file is the admin's, else in a drop-in of kubemend's own that resets ExecStart= and repeats
 * the command line with the flag.
 */
function planExecStart(model: NodeModel, caPath: string, ctx: PlanContext, modify: Modify): PlanPart {
  const service = model.kubelet.service;
  const exec = service?.execStart;
  const block = (reason: string): PlanPart => ({
    blocked: [
      {
        control: CONTROL,
        reason,
        fix: `add --client-ca-file=${caPath} to the kubelet's command line (${exec?.source ?? 'its systemd unit'}) by hand`,
      },
    ],
  });
  if (!service || !exec) return block('the kubelet has no config file and no ExecStart= kubemend could read');
  // The unit's command must be the kubelet's own: the running kubelet's arguments end with the
  // unit's (a wrapper that rewrites them, or a unit changed since the kubelet started, would make an
  // edit of the line say one thing and do another).
  const unitWords = model.kubelet.unitArgv.map((w) => w.text);
  const proc = model.kubelet.process;
  const tail = unitWords.slice(1);
  const matches =
    proc !== undefined
      ? tail.length <= proc.argv.length - 1 &&
        tail.every((w, i) => proc.argv[proc.argv.length - tail.length + i] === w)
      : posix.basename(unitWords[0] ?? '') === 'kubelet';
  if (!matches)
    return block(
      proc
        ? `the running kubelet (pid ${proc.pid}) was not started with the command line ${exec.source} gives now (changed since it started, or a wrapper), so kubemend cannot tell where its arguments come from`
        : `the ExecStart= in ${exec.source} does not run the kubelet directly`,
    );
  const flagNote = `--client-ca-file is set on the kubelet's command line (ExecStart= in ${exec.source}${exec.lineNumber ? `, line ${exec.lineNumber}` : ''}): the kubelet has no config file and its ExecStart= expands no variable to carry the flag`;
  if (ownedByAdmin(exec.source))
    return modify(
      exec.source,
      (t) => setFlagOnExecStart(t, 'client-ca-file', caPath).content,
      'kubelet+daemon-reload',
      {
        notes: [
          `${flagNote}. ${exec.source} is edited in place: it is the admin's own unit configuration under ${exec.source.startsWith('/etc/') ? '/etc/systemd' : '/usr/local/lib/systemd'}, which no package overwrites.`,
        ],
      },
    );
  const unitText = model.facts.files.get(exec.source);
  if (unitText?.status !== 'ok' || unitText.truncated || unitText.content === undefined)
    return block(`${exec.source} could not be read in full from the node`);
  const dropIns = service.files.slice(1).map((f) => posix.basename(f.path));
  const name = EXECSTART_DROPINS.find((n) => dropIns.every((d) => d < n));
  if (!name) return block('a kubelet drop-in sorts after every name kubemend could give its own');
  const path = `/etc/systemd/system/kubelet.service.d/${name}`;
  const why = exec.source.startsWith('/run/')
    ? `${exec.source} lives under /run, which the next boot empties`
    : `${exec.source} belongs to the OS packages: a package upgrade would overwrite an edit there`;
  return created(
    ctx,
    path,
    renderExecStartDropIn(
      ctx.templates.systemdExecStart,
      unitText.content,
      exec.source,
      'client-ca-file',
      caPath,
    ),
    'kubelet+daemon-reload',
    [
      `${flagNote}. ${why}, so kubemend writes its own drop-in ${path}: it sorts after the kubelet's other drop-ins, resets ExecStart= and repeats the same command line with --client-ca-file added. After a kubelet package upgrade that changes ${exec.source}'s ExecStart=, update this drop-in too.`,
    ],
  );
}

function planFlagOnly(model: NodeModel, caPath: string, ctx: PlanContext, modify: Modify): PlanPart {
  const service = model.kubelet.service;
  const execLine = service?.execStart?.line ?? '';
  // Only a $VAR that is a word of its own (quoted or not, as kOps writes "$DAEMON_ARGS") is split
  // into arguments by systemd; ${VAR} is one argument, so a flag added to it would become part of
  // another flag's value.
  const referenced = [...execLine.matchAll(/(?:^|\s)"?\$([A-Za-z_][A-Za-z0-9_]*)"?(?=\s|$)/g)].map(
    (m) => m[1] ?? '',
  );
  if (!service || referenced.length === 0) return planExecStart(model, caPath, ctx, modify);
  const flag = `--client-ca-file=${caPath}`;
  // An environment file the unit reads, for a variable ExecStart expands (KUBELET_EXTRA_ARGS first:
  // it is the documented place for admin additions).
  const ordered = [...new Set(['KUBELET_EXTRA_ARGS', ...referenced])].filter((v) => referenced.includes(v));
  const envFiles = service.environmentFiles
    .map((f) => model.facts.files.get(f.path))
    .filter((f): f is NonNullable<typeof f> => f?.status === 'ok');
  for (const variable of ordered) {
    // The env file that already sets the variable (the last one wins, as in systemd).
    const setter = envFiles.filter((f) => parseEnvFile(f.content ?? '').has(variable)).at(-1);
    if (setter)
      return modify(
        setter.path,
        (t) => setFlagInEnvFile(t, variable, 'client-ca-file', caPath).content,
        'kubelet',
      );
  }
  // The admin's own env file (kubeadm packages read it for KUBELET_EXTRA_ARGS); never kubeadm-flags.env,
  // which kubeadm rewrites.
  const adminFile = envFiles.find((f) => ADMIN_ENV_FILES.includes(f.path));
  if (adminFile && referenced.includes('KUBELET_EXTRA_ARGS'))
    return modify(
      adminFile.path,
      (t) => setFlagInEnvFile(t, 'KUBELET_EXTRA_ARGS', 'client-ca-file', caPath).content,
      'kubelet',
    );
  // A variable nobody sets: a systemd drop-in of kubemend's own sets it.
  // KUBELET_EXTRA_ARGS first, the documented hook; a drop-in of kubemend's own leaves packaged files alone.
  const unset = ordered.find((v) => !service.environment.some((e) => e.name === v));
  if (unset) {
    const path = KUBEMEND_UNIT_DROPIN;
    return created(
      ctx,
      path,
      renderSystemdEnvDropIn(ctx.templates.systemdEnv, unset, flag),
      'kubelet+daemon-reload',
      [`sets $${unset}, which ${service.execStart?.source ?? 'the kubelet unit'} expands but nothing sets`],
    );
  }
  // Else a variable set by Environment= in a unit drop-in (kubeadm ≤1.10 keeps every flag there).
  const setInUnit = service.environment.filter((e) => referenced.includes(e.name)).at(-1);
  if (setInUnit)
    return modify(
      setInUnit.source,
      (t) => setFlagInUnitEnvironment(t, setInUnit.name, 'client-ca-file', caPath).content,
      'kubelet+daemon-reload',
    );
  return {
    blocked: [
      {
        control: CONTROL,
        reason:
          'every variable the kubelet ExecStart expands is already set by an environment file kubemend cannot find',
        fix: `add ${flag} to the kubelet's command line by hand`,
      },
    ],
  };
}
