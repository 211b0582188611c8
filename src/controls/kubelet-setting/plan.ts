/**
 * The kubelet-setting planner: writes one KubeletConfiguration field / kubelet flag (a setting of
 * facts/kubelet-setting.ts) in the layer of the kubelet's configuration that wins, and proves it:
 * the node's facts with the planned files in place must give the kubelet exactly that value (the
 * same reading as the audit: precedence, drop-in spellings, merge-patch nulls, ExecStart resets).
 * Every kubelet control calls it with its setting; what is particular to a control (a CA bundle
 * to check first, notes on what the change leaves open) stays in the control's folder.
 */
import { posix } from 'node:path';
import type { AuditResult, ControlId } from '../types.js';
import { renderKubeletDropIn } from '../../edits/kubelet-dropin.js';
import { setKubeletConfigValue, type ConfigValue } from '../../edits/kubelet-config.js';
import { EditError } from '../../edits/result.js';
import { renderExecStartDropIn, setFlagOnExecStart } from '../../edits/execstart.js';
import {
  renderSystemdEnvDropIn,
  setFlagInEnvFile,
  setFlagInUnitEnvironment,
} from '../../edits/flags-text.js';
import { parseEnvFile } from '../../facts/envfile.js';
import { kubeletView, walkOrder, type ConfigLayer, type KubeletView } from '../../facts/kubelet.js';
import { readSetting, type KubeletSetting } from '../../facts/kubelet-setting.js';
import { factsWithChanges } from '../../facts/with-changes.js';
import type { NodeModel } from '../../facts/model.js';
import type { Playbook } from '../../playbook/types.js';
import { fileChange, type PlanContext, type PlanPart } from '../../plan/change.js';

const UNIT_DROPIN_DIR = '/etc/systemd/system/kubelet.service.d';

/**
 * The name kubemend gave its own drop-ins (kubelet config, systemd environment, ExecStart) before
 * it set more than the client CA. Nodes an earlier kubemend fixed carry it: a plan reads and edits
 * that file rather than writing a second drop-in next to it.
 */
export const LEGACY_DROPIN_NAME = '90-kubemend-client-ca.conf';

/** The systemd drop-in kubemend may create to set a variable its ExecStart expands. */
export const KUBEMEND_UNIT_DROPIN = `${UNIT_DROPIN_DIR}/90-kubemend-kubelet.conf`;
/** The same drop-in as an earlier kubemend named it. */
export const LEGACY_UNIT_DROPIN = `${UNIT_DROPIN_DIR}/${LEGACY_DROPIN_NAME}`;
/** Gathered so a plan knows whether kubemend's own unit drop-in exists (under either name). */
export const KUBEMEND_UNIT_DROPINS = [KUBEMEND_UNIT_DROPIN, LEGACY_UNIT_DROPIN];
const ADMIN_ENV_FILES = ['/etc/default/kubelet', '/etc/sysconfig/kubelet'];

/** One setting to write, for one control. */
export interface SettingFix {
  control: ControlId;
  setting: KubeletSetting;
  value: ConfigValue;
  /** The setting in a reviewer's words ("the client CA"), and the value as the result should name it. */
  name: string;
  shown: string;
  /** What the value is, in an edit's error ("a file path", "true or false"). */
  expect: string;
  /** The comment of a drop-in kubemend creates for it: "set the kubelet's …", in lines. */
  purpose: string[];
  /** What the control checks before anything is planned (the files its value points at). */
  preflight?: () => PlanPart | undefined;
  /** Notes once the change is proven: what the kubelet after the change still allows, and so on. */
  notes?: (after: KubeletView) => string[];
}

const formatOf = (
  layer: Pick<ConfigLayer, 'format'> | undefined,
  content: string | undefined,
): 'yaml' | 'json' => layer?.format ?? (content?.trimStart().startsWith('{') ? 'json' : 'yaml');

/** Systemd directories: a change there needs `systemctl daemon-reload`. */
const isUnitFile = (path: string) => /\.(service|conf)$/.test(path) && /\/systemd\//.test(path);

const flagText = (fix: SettingFix) => String(fix.value);

/** A file kubemend creates for a kubelet fix. */
const created = (
  ctx: PlanContext,
  fix: SettingFix,
  path: string,
  after: string,
  restart: 'kubelet' | 'kubelet+daemon-reload',
  notes: string[],
): PlanPart => ({
  changes: [fileChange(ctx, { control: fix.control, path, before: null, after, restart, notes })],
});

/**
 * Plans `fix` in the layer of the kubelet's configuration that wins and proves it on the node as
 * the restarted kubelet would find it; `decorate` marks changes (durability) before the proof.
 */
export function planKubeletSetting(
  model: NodeModel,
  result: AuditResult,
  playbook: Playbook,
  ctx: PlanContext,
  fix: SettingFix,
  decorate: (part: PlanPart) => PlanPart = (p) => p,
): PlanPart {
  const part = decorate(planFix(model, result, playbook, ctx, fix));
  if (!part.changes?.length) return part;
  const after = kubeletView(factsWithChanges(model.facts, part.changes));
  const got = readSetting(after.sources, fix.setting);
  if (got.effective?.value === fix.value && !got.invalid && after.errors.length === 0) {
    const notes = fix.notes?.(after) ?? [];
    if (notes.length === 0) return part;
    return { ...part, changes: part.changes.map((c) => ({ ...c, notes: [...c.notes, ...notes] })) };
  }
  const why = after.errors[0]
    ? after.errors[0]
    : got.invalid
      ? got.invalid
      : got.effective
        ? `${got.effective.key} = ${JSON.stringify(got.effective.value)} from ${got.effective.source} would still win`
        : `no ${fix.name} would be set`;
  return {
    blocked: [
      {
        control: fix.control,
        reason: `the change kubemend found (${part.changes.map((c) => c.path).join(', ')}) would not give the kubelet ${fix.shown}: ${why}`,
        fix: `set ${fix.name} by hand in the file that wins (${got.effective?.source ?? 'see the audit evidence'})`,
      },
    ],
  };
}

/** Plans `fix` in the layer of the kubelet's configuration that wins. */
function planFix(
  model: NodeModel,
  result: AuditResult,
  playbook: Playbook,
  ctx: PlanContext,
  fix: SettingFix,
): PlanPart {
  if (result.status === 'pass' || result.status === 'skip') return {};
  const { kubelet, facts } = model;
  const CONTROL = fix.control;
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

  const blocked = fix.preflight?.();
  if (blocked) return blocked;
  const text = (path: string) => {
    const f = facts.files.get(path);
    return f?.status === 'ok' && !f.truncated ? f.content : undefined;
  };
  const modify: Modify = (path, edit, restart, given = {}) => {
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
  const edit = { path: fix.setting.path, value: fix.value, expect: fix.expect };
  const setIn = (layer: Pick<ConfigLayer, 'format'> | undefined) => (t: string) =>
    setKubeletConfigValue(t, edit, formatOf(layer, t)).content;
  const reading = readSetting(kubelet.sources, fix.setting);
  const current = reading.effective;
  const flag = fix.setting.flag;
  const value = flagText(fix);

  // 1. A flag decides (it beats every file): change it where it is set.
  if (current?.layer === 'flag') {
    if (!current.via) return planExecStart(model, fix, ctx, modify);
    const { file, variable } = current.via;
    if (isUnitFile(file))
      return modify(
        file,
        (t) => setFlagInUnitEnvironment(t, variable, flag, value).content,
        'kubelet+daemon-reload',
      );
    return modify(file, (t) => setFlagInEnvFile(t, variable, flag, value).content, 'kubelet');
  }

  // 2. A wrong-case key or an empty value in a layer that wins: fix that file in place, unless
  // kubemend's own drop-in would sort after it (a drop-in of kubemend's own leaves files that node
  // tooling regenerates, such as nodeadm's 40-nodeadm.conf, alone and still wins).
  const layers = [...(kubelet.config?.data ? [kubelet.config] : []), ...(kubelet.configDir?.dropIns ?? [])];
  const ownDropIn = kubelet.configDir
    ? ownConfigDropIn(kubelet.configDir, playbook.kubelet.dropInName)
    : undefined;
  const wrongCase = reading.wrongCase.at(-1);
  const winning = current?.layer === 'drop-in' ? layers.find((l) => l.path === current.source) : undefined;
  const deleter = reading.deletedBy;
  const target =
    winning ??
    (wrongCase ? layers.find((l) => l.path === wrongCase.path) : undefined) ??
    (deleter ? layers.find((l) => l.path === deleter) : undefined);
  // A drop-in that spells the key otherwise (clientCaFile) beats kubemend's clientCAFile whatever
  // the file order (drop-in keys fold case; the later spelling in byte order wins): fixed in place.
  const spelledOtherwise = winning !== undefined && current?.key !== fix.setting.path.join('.');
  const ownWins =
    ownDropIn !== undefined &&
    !spelledOtherwise &&
    (target === undefined || walkOrder(target.path, ownDropIn) <= 0);
  if (target && !ownWins) return modify(target.path, setIn(target), 'kubelet');

  // 3. --config-dir: a drop-in of kubemend's own, sorted late so it wins over the base file.
  if (kubelet.configDir) {
    const path = ownDropIn ?? ownConfigDropIn(kubelet.configDir, playbook.kubelet.dropInName);
    const existing = text(path);
    const format = formatOf(
      kubelet.configDir.dropIns.at(-1),
      kubelet.configDir.dropIns.at(-1) && text(kubelet.configDir.dropIns.at(-1)!.path),
    );
    if (existing !== undefined) return modify(path, setIn(undefined), 'kubelet');
    const template = format === 'json' ? ctx.templates.dropInJson : ctx.templates.dropInYaml;
    return created(ctx, fix, path, renderKubeletDropIn(template, edit, fix.purpose, format), 'kubelet', [
      `a drop-in in --config-dir ${kubelet.configDir.path}: merged over ${kubelet.config?.path ?? 'the built-in defaults'}, and left alone by tools that regenerate the base file`,
    ]);
  }

  // 4. The --config file (not durable where the layout's tooling renders it: see rewritten.ts).
  if (kubelet.config?.data) return modify(kubelet.config.path, setIn(kubelet.config), 'kubelet');

  // 5. Flags only: add the flag through a variable the kubelet's ExecStart expands.
  return planFlagOnly(model, fix, ctx, modify);
}

/**
 * kubemend's own drop-in in the kubelet's --config-dir: the one there already (the playbook's name,
 * else the name an earlier kubemend gave it), else a new one under the playbook's name.
 */
function ownConfigDropIn(
  configDir: { path: string; dropIns: readonly { path: string }[] },
  name: string,
): string {
  const present = (n: string) => configDir.dropIns.some((d) => posix.basename(d.path) === n);
  return posix.join(
    configDir.path,
    !present(name) && present(LEGACY_DROPIN_NAME) ? LEGACY_DROPIN_NAME : name,
  );
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

/**
 * Names for kubemend's ExecStart drop-in, in order of preference: the first that sorts last wins.
 * (One an earlier kubemend wrote under its old name holds the winning ExecStart= and, being under
 * /etc/systemd, is edited in place: no second drop-in.)
 */
const EXECSTART_DROPINS = [
  '90-kubemend-kubelet.conf',
  '99-kubemend-kubelet.conf',
  'zz-kubemend-kubelet.conf',
];

/**
 * A kubelet configured on its command line alone (no variable to carry the flag, or the flag written
 * on the line): the flag is set on the ExecStart= line that wins, in the file that sets it when
 * that file is the admin's, else in a drop-in of kubemend's own that resets ExecStart= and repeats
 * the command line with the flag.
 */
function planExecStart(model: NodeModel, fix: SettingFix, ctx: PlanContext, modify: Modify): PlanPart {
  const CONTROL = fix.control;
  const flagName = fix.setting.flag;
  const caPath = flagText(fix);
  const service = model.kubelet.service;
  const exec = service?.execStart;
  const block = (reason: string): PlanPart => ({
    blocked: [
      {
        control: CONTROL,
        reason,
        fix: `add --${flagName}=${caPath} to the kubelet's command line (${exec?.source ?? 'its systemd unit'}) by hand`,
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
  const flagNote = `--${flagName} is set on the kubelet's command line (ExecStart= in ${exec.source}${exec.lineNumber ? `, line ${exec.lineNumber}` : ''}): the kubelet has no config file and its ExecStart= expands no variable to carry the flag`;
  if (ownedByAdmin(exec.source))
    return modify(
      exec.source,
      (t) => setFlagOnExecStart(t, flagName, caPath).content,
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
  const path = `${UNIT_DROPIN_DIR}/${name}`;
  const why = exec.source.startsWith('/run/')
    ? `${exec.source} lives under /run, which the next boot empties`
    : `${exec.source} belongs to the OS packages: a package upgrade would overwrite an edit there`;
  return created(
    ctx,
    fix,
    path,
    renderExecStartDropIn(ctx.templates.systemdExecStart, unitText.content, exec.source, flagName, caPath),
    'kubelet+daemon-reload',
    [
      `${flagNote}. ${why}, so kubemend writes its own drop-in ${path}: it sorts after the kubelet's other drop-ins, resets ExecStart= and repeats the same command line with --${flagName} added. After a kubelet package upgrade that changes ${exec.source}'s ExecStart=, update this drop-in too.`,
    ],
  );
}

function planFlagOnly(model: NodeModel, fix: SettingFix, ctx: PlanContext, modify: Modify): PlanPart {
  const CONTROL = fix.control;
  const name = fix.setting.flag;
  const caPath = flagText(fix);
  const service = model.kubelet.service;
  const execLine = service?.execStart?.line ?? '';
  // Only a $VAR that is a word of its own (quoted or not, as kOps writes "$DAEMON_ARGS") is split
  // into arguments by systemd; ${VAR} is one argument, so a flag added to it would become part of
  // another flag's value.
  const referenced = [...execLine.matchAll(/(?:^|\s)"?\$([A-Za-z_][A-Za-z0-9_]*)"?(?=\s|$)/g)].map(
    (m) => m[1] ?? '',
  );
  if (!service || referenced.length === 0) return planExecStart(model, fix, ctx, modify);
  const flag = `--${name}=${caPath}`;
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
      return modify(setter.path, (t) => setFlagInEnvFile(t, variable, name, caPath).content, 'kubelet');
  }
  // The admin's own env file (kubeadm packages read it for KUBELET_EXTRA_ARGS); never kubeadm-flags.env,
  // which kubeadm rewrites.
  const adminFile = envFiles.find((f) => ADMIN_ENV_FILES.includes(f.path));
  if (adminFile && referenced.includes('KUBELET_EXTRA_ARGS'))
    return modify(
      adminFile.path,
      (t) => setFlagInEnvFile(t, 'KUBELET_EXTRA_ARGS', name, caPath).content,
      'kubelet',
    );
  // kubemend's own unit drop-in (under its old name on a node an earlier kubemend fixed) already
  // sets a variable ExecStart expands: the flag joins it there, never in a second drop-in.
  const own = service.environment
    .filter((e) => referenced.includes(e.name) && KUBEMEND_UNIT_DROPINS.includes(e.source))
    .at(-1);
  if (own)
    return modify(
      own.source,
      (t) => setFlagInUnitEnvironment(t, own.name, name, caPath).content,
      'kubelet+daemon-reload',
    );
  // A variable nobody sets: a systemd drop-in of kubemend's own sets it.
  // KUBELET_EXTRA_ARGS first, the documented hook; a drop-in of kubemend's own leaves packaged files alone.
  const unset = ordered.find((v) => !service.environment.some((e) => e.name === v));
  if (unset) {
    const path = KUBEMEND_UNIT_DROPIN;
    return created(
      ctx,
      fix,
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
      (t) => setFlagInUnitEnvironment(t, setInUnit.name, name, caPath).content,
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
