import { posix } from 'node:path';
import { lastFlag, parseFlags, type Flag } from './flags.js';
import {
  expandExecStart,
  serviceEnvironment,
  serviceModel,
  splitSystemctlCat,
  type ServiceModel,
  type Word,
} from './systemd.js';
import type { MergeLayer } from './kubelet-merge.js';
import { KUBELET, readSetting, type SettingReading, type SettingSources } from './kubelet-setting.js';
import { ambiguousKey, nodeYamlDocuments, nodeYamlValue } from './node-yaml.js';
import { memoByText } from './text-memo.js';
import type { NodeFacts, ProcessFact } from './types.js';

/** A setting's value and where it came from, as a reviewer needs to see it. */
export interface Sourced<T = string> {
  value: T;
  /** File (or /proc/PID/cmdline) that decided the value. */
  source: string;
  /** The key or flag as written there. */
  key: string;
  /**
   * How the value reached the kubelet: a flag on the command line, a drop-in, the config file, or
   * the kubelet's own default (source: the command line that sets none of them).
   */
  layer: 'flag' | 'drop-in' | 'config' | 'default';
  /** For flags: the environment variable and the file that set it. */
  via?: { variable: string; file: string };
}

export interface ConfigLayer {
  path: string;
  format: 'yaml' | 'json';
  /** Parsed document (undefined when it did not parse). */
  data?: Record<string, unknown>;
  error?: string;
}

export interface KubeletView {
  /** Something says there is a kubelet: a process or a loaded systemd unit. */
  present: boolean;
  process?: ProcessFact;
  service?: ServiceModel;
  /** The kubelet's argv: the running process, else the unit's ExecStart as systemd would expand it. */
  argv: Word[];
  argvSource: string;
  /** The command line the kubelet's unit gives it now (ExecStart expanded; empty without a unit). */
  unitArgv: Word[];
  flags: Flag[];
  config?: ConfigLayer & { exists: boolean };
  configDir?: { path: string; exists: boolean; dropIns: ConfigLayer[] };
  /** The effective client CA setting (absent: unset everywhere). */
  clientCAFile?: Sourced;
  /** Spellings the kubelet silently ignores, e.g. `clientCaFile` in the --config file. */
  wrongCase: { path: string; key: string }[];
  /**
   * Other spellings of the client CA key in drop-ins: they take effect (drop-in keys match
   * case-insensitively), and the one sorting later in byte order beats `clientCAFile`.
   */
  dropInSpellings: { path: string; key: string }[];
  /** The settings besides the client CA that decide who may call the kubelet, and its ports. */
  settings?: KubeletSettings;
  /** The layer whose merge-patch null deleted the client CA of the layers below it. */
  clientCADeletedBy?: string;
  staticPodPath?: Sourced;
  /** The kubeconfig the kubelet talks to the apiserver with (--kubeconfig). */
  kubeconfig?: Sourced;
  /** Problems that keep the effective config from being known or the kubelet from starting. */
  errors: string[];
  /** What readSetting needs to read any other setting the same way (controls/kubelet-setting). */
  sources: SettingSources;
}

const KUBELET_KIND = 'KubeletConfiguration';
const KUBELET_API_VERSION = 'kubelet.config.k8s.io/v1beta1';

/**
 * The order the kubelet reads --config-dir drop-ins in: filepath.WalkDir, names sorted within each
 * directory, a subdirectory's files at the subdirectory's place (so `50/x.conf` comes before
 * `50-a.conf`, although the full path sorts after it). node-facts §1.3.
 */
export function walkOrder(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i] ?? '';
    const q = y[i] ?? '';
    if (p !== q) return p < q ? -1 : 1;
  }
  return x.length - y.length;
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * One config file or drop-in, decoded as the kubelet does. A drop-in is decoded strictly with no
 * lenient retry (node-facts §1.3): a key twice in one drop-in stops the kubelet. The --config file
 * is retried leniently (§1.2), so a duplicate there is not fatal.
 */
const parseConfig = memoByText((path, content) => readLayer(path, content, 'config'));
const parseDropIn = memoByText((path, content) => readLayer(path, content, 'drop-in'));
const parseLayer = (path: string, content: string, kind: 'config' | 'drop-in' = 'config'): ConfigLayer =>
  (kind === 'config' ? parseConfig : parseDropIn)(path, content);

function readLayer(path: string, content: string, kind: 'config' | 'drop-in'): ConfigLayer {
  const trimmed = content.trimStart();
  // YAML flow style also starts with '{': JSON only when it parses as JSON.
  const format = trimmed.startsWith('{') && parsesAsJson(trimmed) ? 'json' : 'yaml';
  if (!trimmed) return { path, format, error: `${path} is empty (the kubelet refuses an empty config file)` };
  try {
    // As the kubelet's YAML decoder: the first document counts (a trailing `---` is harmless), and
    // YAML 1.1 merge keys (`<<: *anchor`) merge.
    const docs = nodeYamlDocuments(path, content, { uniqueKeys: kind === 'drop-in', merge: true });
    if (!docs.ok) return { path, format, error: docs.error };
    const doc = docs.value[0];
    if (!doc) return { path, format, error: `${path} holds no YAML document` };
    const duplicate = doc.errors.find((e) => e.code === 'DUPLICATE_KEY');
    if (duplicate)
      return {
        path,
        format,
        error: `${path} has a key twice (${duplicate.message.split('\n')[0] ?? ''}): the kubelet decodes a drop-in strictly and refuses to start`,
      };
    if (doc.errors.length > 0)
      return { path, format, error: `${path} does not parse: ${doc.errors[0]?.message ?? ''}` };
    const value = nodeYamlValue(path, doc);
    if (!value.ok) return { path, format, error: value.error };
    const ambiguous = ambiguousKey(doc);
    if (ambiguous)
      return {
        path,
        format,
        error: `${path}: ${ambiguous}; kubemend cannot tell which the kubelet uses: keep one`,
      };
    const data = value.value;
    if (!data || typeof data !== 'object' || Array.isArray(data))
      return { path, format, error: `${path} is not a KubeletConfiguration object` };
    const obj = data as Record<string, unknown>;
    // node-facts §1.2/§1.3: the config file and every drop-in must say what they are, or the
    // kubelet refuses to start.
    if (obj['apiVersion'] !== KUBELET_API_VERSION)
      return {
        path,
        format,
        data: obj,
        error:
          obj['apiVersion'] === undefined
            ? `${path} has no apiVersion (the kubelet refuses to start without apiVersion: ${KUBELET_API_VERSION})`
            : `${path} has apiVersion ${String(obj['apiVersion'])}, not ${KUBELET_API_VERSION} (the kubelet refuses it)`,
      };
    if (obj['kind'] !== KUBELET_KIND)
      return {
        path,
        format,
        data: obj,
        error: `${path} has kind ${String(obj['kind'] ?? '(none)')}, not ${KUBELET_KIND}`,
      };
    return { path, format, data: obj };
  } catch (e) {
    return { path, format, error: `${path} does not parse: ${(e as Error).message}` };
  }
}

function resolveAgainst(dir: string | undefined, p: string): string {
  return p && !p.startsWith('/') && dir ? posix.resolve(dir, p) : p;
}

function findKubeletProcess(facts: NodeFacts): ProcessFact | undefined {
  return facts.processes.find((p) => p.comm === 'kubelet' || posix.basename(p.argv[0] ?? '') === 'kubelet');
}

/** Everything kubemend knows about the kubelet on a node, with the precedence the kubelet uses. */
export function kubeletView(facts: NodeFacts): KubeletView {
  // Facts are read-only once parsed; the gather (following paths) and the model both need the
  // view, so it is worked out once per facts (it parses the config YAML).
  let view = views.get(facts);
  if (!view) views.set(facts, (view = readKubelet(facts)));
  return view;
}

const views = new WeakMap<NodeFacts, KubeletView>();

function readKubelet(facts: NodeFacts): KubeletView {
  const process = findKubeletProcess(facts);
  const unit = facts.units.get('kubelet');
  const loaded = unit?.show['LoadState'] === 'loaded';
  const service = loaded && unit ? serviceModel(splitSystemctlCat(unit.cat)) : undefined;
  const readFile = (path: string) => {
    const f = facts.files.get(path);
    return f?.status === 'ok' ? f.content : undefined;
  };

  let argv: Word[] = [];
  let argvSource = '';
  const unitWords =
    service?.execStart !== undefined
      ? expandExecStart(service.execStart, serviceEnvironment(service, readFile), service.files[0]?.path)
      : [];
  if (process) {
    argvSource = `/proc/${process.pid}/cmdline`;
    argv = process.argv.map((text) => ({ text, source: argvSource }));
    // Where a running flag was configured, when the unit would produce the same flag.
    const unitFlags = new Map(unitWords.map((w) => [w.text, w]));
    argv = argv.map((w) => {
      const origin = unitFlags.get(w.text);
      return origin?.variable ? { ...w, variable: origin.variable, origin: origin.source } : w;
    });
  } else if (unitWords.length > 0) {
    argv = unitWords;
    argvSource = service?.execStart?.source ?? '';
  }
  // No process and no command line in the unit: what kubemend read is the unit itself (its first
  // file, or systemd's word that it is loaded). Evidence always names a source.
  if (!argvSource) argvSource = service?.files[0]?.path ?? 'systemctl cat kubelet.service';

  const view: KubeletView = {
    present: Boolean(process) || loaded,
    ...(process ? { process } : {}),
    ...(service ? { service } : {}),
    argv,
    argvSource,
    unitArgv: unitWords,
    flags: parseFlags(argv.map((w) => w.text)),
    wrongCase: [],
    dropInSpellings: [],
    errors: [],
    sources: { argv, argvSource, flags: [], layers: [], cwd: '/', hasConfig: false },
  };
  view.sources.flags = view.flags;
  if (!view.present) return view;

  // Relative paths in flags are relative to the kubelet's working directory: the running process's,
  // else the one its unit would give it (WorkingDirectory=, systemd's default /).
  const cwd = process?.cwd ?? service?.workingDirectory ?? '/';
  const flagSourced = (flag: Flag, key: string): Sourced => {
    const word = argv[flag.index];
    const variable = word?.variable;
    const file = word?.origin ?? word?.source;
    return {
      value: resolveAgainst(cwd, flag.value),
      key,
      layer: 'flag',
      source: argvSource,
      ...(variable && file ? { via: { variable, file } } : {}),
    };
  };

  const configFlag = lastFlag(view.flags, 'config');
  if (configFlag?.value) {
    const path = resolveAgainst(cwd, configFlag.value);
    const text = readFile(path);
    const fact = facts.files.get(path);
    if (text === undefined) {
      view.config = {
        path,
        format: path.endsWith('.json') ? 'json' : 'yaml',
        exists: fact?.status !== 'missing',
      };
      view.errors.push(
        fact?.status === 'unreadable'
          ? `kubelet config ${path} (from --config) is not readable by this user`
          : `kubelet config ${path} (from --config) does not exist`,
      );
    } else {
      view.config = { ...parseLayer(path, text), exists: true };
      if (view.config.error) view.errors.push(view.config.error);
    }
  }
  const dirFlag = lastFlag(view.flags, 'config-dir');
  if (dirFlag?.value) {
    const path = resolveAgainst(cwd, dirFlag.value);
    const listing = facts.dirs.get(path);
    const inDir = [...facts.files.values()]
      .filter((f) => f.path.startsWith(path.replace(/\/?$/, '/')) && f.path.endsWith('.conf'))
      .sort((a, b) => walkOrder(a.path, b.path));
    // A drop-in kubemend could not read whole is still one the kubelet merges: what it sets is unknown.
    for (const f of inDir)
      if (f.status === 'unreadable' || (f.status === 'ok' && f.truncated))
        view.errors.push(
          f.status === 'unreadable'
            ? `drop-in ${f.path} is not readable by this user, and the kubelet merges it: what it sets is unknown (run kubemend with become: sudo)`
            : `drop-in ${f.path} is larger than kubemend reads (${f.size ?? '?'} bytes), and the kubelet merges it: what it sets is unknown`,
        );
    const dropIns = inDir
      .filter((f) => f.status === 'ok' && !f.truncated)
      .map((f) => parseLayer(f.path, f.content ?? '', 'drop-in'));
    view.configDir = { path, exists: listing !== null && listing !== undefined, dropIns };
    if (!view.configDir.exists)
      view.errors.push(`--config-dir ${path} does not exist (the kubelet exits on start)`);
    for (const d of dropIns) if (d.error) view.errors.push(d.error);
  }

  const layers: MergeLayer[] = [
    ...(view.config?.data
      ? [{ path: view.config.path, kind: 'config' as const, data: view.config.data }]
      : []),
    ...(view.configDir?.dropIns ?? []).flatMap((d) =>
      d.data && !d.error ? [{ path: d.path, kind: 'drop-in' as const, data: d.data }] : [],
    ),
  ];
  view.sources = { argv, argvSource, flags: view.flags, layers, cwd, hasConfig: Boolean(view.config) };
  // Precedence (node-facts §1.4): flags > drop-ins in order > --config file.
  const ca = readSetting(view.sources, KUBELET.clientCAFile);
  // Only the --config file is decoded case-sensitively: a wrong-case key there does nothing.
  view.wrongCase = ca.wrongCase;
  view.dropInSpellings = ca.dropInSpellings;
  // A wrong type is a decode error, fatal for the kubelet (node-facts §1.2, §1.3).
  if (ca.invalid) view.errors.push(ca.invalid);
  else if (ca.effective) view.clientCAFile = ca.effective;
  else if (ca.deletedBy) view.clientCADeletedBy = ca.deletedBy;

  const kubeconfigFlag = lastFlag(view.flags, 'kubeconfig');
  if (kubeconfigFlag?.value) view.kubeconfig = flagSourced(kubeconfigFlag, '--kubeconfig');

  const pod = readSetting(view.sources, KUBELET.staticPodPath).effective;
  if (pod?.value) view.staticPodPath = pod;
  const settings = settingsOf(view.sources);
  if (typeof settings === 'string') view.errors.push(settings);
  else view.settings = settings;
  return view;
}

/** The settings that decide who may call the kubelet, and where it listens. */
export interface KubeletSettings {
  /** Whether --config is given: without it the legacy flag defaults apply (node-facts §1.5). */
  defaults: 'v1beta1' | 'legacy';
  anonymousEnabled: Sourced<boolean>;
  authorizationMode: Sourced<string>;
  healthzPort: Sourced<number>;
  healthzBindAddress: Sourced<string>;
  address: Sourced<string>;
  port: Sourced<number>;
  readOnlyPort: Sourced<number>;
}

/**
 * Each setting from the layer that wins: a flag, else the merged files, else the default of the
 * kubelet's mode (with --config: v1beta1 defaults; without, even with --config-dir: the legacy
 * flag defaults, anonymous on and AlwaysAllow; node-facts §1.3, §1.5). Zero values of non-pointer
 * fields (port, address, mode) take the default, as v1beta1 defaulting does.
 */
function settingsOf(src: SettingSources): KubeletSettings | string {
  // Every one of these has a default, so a reading has a value unless a flag of the running
  // kubelet is one kubemend cannot read (then that is the kubelet's error).
  let unreadable: string | undefined;
  const get = <T>(r: SettingReading<T>): Sourced<T> => {
    if (!r.effective) unreadable ??= r.invalid ?? 'a kubelet setting has no value';
    return r.effective as Sourced<T>;
  };
  const settings: KubeletSettings = {
    defaults: src.hasConfig ? 'v1beta1' : 'legacy',
    anonymousEnabled: get(readSetting(src, KUBELET.anonymousAuth)),
    authorizationMode: get(readSetting(src, KUBELET.authorizationMode)),
    healthzPort: get(readSetting(src, KUBELET.healthzPort)),
    healthzBindAddress: get(readSetting(src, KUBELET.healthzBindAddress)),
    address: get(readSetting(src, KUBELET.address)),
    port: get(readSetting(src, KUBELET.port)),
    readOnlyPort: get(readSetting(src, KUBELET.readOnlyPort)),
  };
  return unreadable ?? settings;
}
