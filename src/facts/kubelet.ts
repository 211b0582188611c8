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
import { deletedBy, dropInSpellings, effectiveField, type MergeLayer } from './kubelet-merge.js';
import { nodeYamlDocuments, nodeYamlValue } from './node-yaml.js';
import type { NodeFacts, ProcessFact } from './types.js';

const CA_PATH = ['authentication', 'x509', 'clientCAFile'] as const;

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
function parseLayer(path: string, content: string, kind: 'config' | 'drop-in' = 'config'): ConfigLayer {
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

/** Keys under authentication/x509 whose spelling differs from clientCAFile only by case. */
function findWrongCase(layer: ConfigLayer): { path: string; key: string }[] {
  const found: { path: string; key: string }[] = [];
  const walk = (obj: unknown, trail: string[]) => {
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return;
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      const lower = k.toLowerCase();
      const want = ['authentication', 'x509', 'clientcafile'][trail.length];
      if (lower !== want) continue;
      const exact = ['authentication', 'x509', 'clientCAFile'][trail.length];
      if (k !== exact) found.push({ path: layer.path, key: [...trail, k].join('.') });
      else walk(v, [...trail, k]);
    }
  };
  walk(layer.data, []);
  return found;
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
  };
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
  // Only the --config file is decoded case-sensitively: a wrong-case key there does nothing.
  if (view.config?.data) view.wrongCase.push(...findWrongCase(view.config));
  view.dropInSpellings = dropInSpellings(layers, CA_PATH);

  // Relative paths: the --config file's are resolved against its directory; a drop-in's are not
  // resolved at all, so the kubelet opens them against its working directory (node-facts §1.1, §1.3).
  const fromLayers = (path: readonly string[]): Sourced<unknown> | undefined => {
    const v = effectiveField(layers, path);
    if (!v) return undefined;
    return {
      value: v.value,
      source: v.source,
      key: v.key,
      layer: v.kind === 'config' ? 'config' : 'drop-in',
    };
  };
  const pathSetting = (s: Sourced<unknown>): Sourced => {
    const value = typeof s.value === 'string' ? s.value : String(s.value);
    const base = s.layer === 'config' ? posix.dirname(s.source) : cwd;
    return { ...s, value: resolveAgainst(base, value) };
  };

  // Precedence (node-facts §1.4): flags > drop-ins in order > --config file.
  const caFlag = lastFlag(view.flags, 'client-ca-file');
  if (caFlag) {
    view.clientCAFile = flagSourced(caFlag, '--client-ca-file');
  } else {
    const ca = fromLayers(CA_PATH);
    // A wrong type is a decode error, fatal for the kubelet (node-facts §1.2, §1.3).
    if (ca && ca.value !== null && typeof ca.value !== 'string')
      view.errors.push(
        `${ca.source} sets ${ca.key} to ${JSON.stringify(ca.value)}, not a string: the kubelet refuses to start`,
      );
    else if (ca) view.clientCAFile = pathSetting(ca);
    else {
      const deleter = deletedBy(layers, CA_PATH);
      if (deleter) view.clientCADeletedBy = deleter;
    }
  }

  const kubeconfigFlag = lastFlag(view.flags, 'kubeconfig');
  if (kubeconfigFlag?.value) view.kubeconfig = flagSourced(kubeconfigFlag, '--kubeconfig');

  const podFlag = lastFlag(view.flags, 'pod-manifest-path');
  if (podFlag?.value) view.staticPodPath = flagSourced(podFlag, '--pod-manifest-path');
  else {
    const pod = fromLayers(['staticPodPath']);
    if (pod && typeof pod.value === 'string' && pod.value) view.staticPodPath = pathSetting(pod);
  }
  view.settings = settingsOf(view, layers, fromLayers);
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
function settingsOf(
  view: KubeletView,
  layers: readonly MergeLayer[],
  fromLayers: (path: readonly string[]) => Sourced<unknown> | undefined,
): KubeletSettings {
  const defaults = view.config ? 'v1beta1' : 'legacy';
  const get = <T>(
    flag: string,
    path: readonly string[],
    fallback: { v1beta1: T; legacy: T },
    parse: (raw: unknown) => T | undefined,
    zeroIsUnset = false,
  ): Sourced<T> => {
    const f = lastFlag(view.flags, flag);
    const fromFlag = f ? parse(f.value) : undefined;
    if (f && fromFlag !== undefined)
      return { value: fromFlag, source: view.argvSource, key: `--${flag}`, layer: 'flag' };
    const l = layers.length > 0 ? fromLayers(path) : undefined;
    const fromFile = l ? parse(l.value) : undefined;
    if (l && fromFile !== undefined && !(zeroIsUnset && (fromFile === 0 || fromFile === '')))
      return { ...l, value: fromFile };
    return {
      value: fallback[defaults],
      source: view.argvSource,
      key: `${path.join('.')} (kubelet default${defaults === 'legacy' ? ' without --config' : ''})`,
      layer: 'default',
    };
  };
  const bool = (raw: unknown) =>
    typeof raw === 'boolean'
      ? raw
      : raw === 'true' || raw === ''
        ? true
        : raw === 'false'
          ? false
          : undefined;
  const int = (raw: unknown) =>
    typeof raw === 'number' && Number.isInteger(raw)
      ? raw
      : typeof raw === 'string' && /^\d+$/.test(raw)
        ? Number(raw)
        : undefined;
  const str = (raw: unknown) => (typeof raw === 'string' ? raw : undefined);
  return {
    defaults,
    anonymousEnabled: get(
      'anonymous-auth',
      ['authentication', 'anonymous', 'enabled'],
      { v1beta1: false, legacy: true },
      bool,
    ),
    authorizationMode: get(
      'authorization-mode',
      ['authorization', 'mode'],
      { v1beta1: 'Webhook', legacy: 'AlwaysAllow' },
      str,
      true,
    ),
    healthzPort: get('healthz-port', ['healthzPort'], { v1beta1: 10248, legacy: 10248 }, int),
    healthzBindAddress: get(
      'healthz-bind-address',
      ['healthzBindAddress'],
      { v1beta1: '127.0.0.1', legacy: '127.0.0.1' },
      str,
      true,
    ),
    address: get('address', ['address'], { v1beta1: '0.0.0.0', legacy: '0.0.0.0' }, str, true),
    port: get('port', ['port'], { v1beta1: 10250, legacy: 10250 }, int, true),
    readOnlyPort: get('read-only-port', ['readOnlyPort'], { v1beta1: 0, legacy: 10255 }, int),
  };
}
