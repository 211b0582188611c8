import { posix } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { lastFlag, parseFlags, type Flag } from './flags.js';
import {
  expandExecStart,
  serviceEnvironment,
  serviceModel,
  splitSystemctlCat,
  type ServiceModel,
  type Word,
} from './systemd.js';
import type { NodeFacts, ProcessFact } from './types.js';

/** A setting's value and where it came from, as a reviewer needs to see it. */
export interface Sourced<T = string> {
  value: T;
  /** File (or /proc/PID/cmdline) that decided the value. */
  source: string;
  /** The key or flag as written there. */
  key: string;
  /** How the value reached the kubelet: a flag on the command line, a drop-in, the config file. */
  layer: 'flag' | 'drop-in' | 'config';
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
  /** Spellings the kubelet silently ignores, e.g. `clientCaFile`. */
  wrongCase: { path: string; key: string }[];
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

function parseLayer(path: string, content: string): ConfigLayer {
  const trimmed = content.trimStart();
  // YAML flow style also starts with '{': JSON only when it parses as JSON.
  const format = trimmed.startsWith('{') && parsesAsJson(trimmed) ? 'json' : 'yaml';
  if (!trimmed) return { path, format, error: `${path} is empty (the kubelet refuses an empty config file)` };
  try {
    // As the kubelet's YAML decoder: the first document counts (a trailing `---` is harmless), and
    // YAML 1.1 merge keys (`<<: *anchor`) merge.
    const docs = parseAllDocuments(content, { uniqueKeys: false, merge: true });
    const doc = Array.isArray(docs) ? docs[0] : undefined;
    if (!doc) return { path, format, error: `${path} holds no YAML document` };
    if (doc.errors.length > 0)
      return { path, format, error: `${path} does not parse: ${doc.errors[0]?.message ?? ''}` };
    const data: unknown = doc.toJS();
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

function getPath(data: Record<string, unknown> | undefined, keys: string[]): unknown {
  let cur: unknown = data;
  for (const k of keys) {
    if (!cur || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
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
      ? expandExecStart(service.execStart, serviceEnvironment(service, readFile))
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

  const view: KubeletView = {
    present: Boolean(process) || loaded,
    ...(process ? { process } : {}),
    ...(service ? { service } : {}),
    argv,
    argvSource,
    unitArgv: unitWords,
    flags: parseFlags(argv.map((w) => w.text)),
    wrongCase: [],
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
    const dropIns = [...facts.files.values()]
      .filter(
        (f) => f.path.startsWith(path.replace(/\/?$/, '/')) && f.path.endsWith('.conf') && f.status === 'ok',
      )
      .sort((a, b) => walkOrder(a.path, b.path))
      .map((f) => parseLayer(f.path, f.content ?? ''));
    view.configDir = { path, exists: listing !== null && listing !== undefined, dropIns };
    if (!view.configDir.exists)
      view.errors.push(`--config-dir ${path} does not exist (the kubelet exits on start)`);
    for (const d of dropIns) if (d.error) view.errors.push(d.error);
  }

  const layers: ConfigLayer[] = [
    ...(view.config?.data ? [view.config] : []),
    ...(view.configDir?.dropIns ?? []),
  ];
  for (const layer of layers) view.wrongCase.push(...findWrongCase(layer));

  // Precedence (node-facts §1.4): flags > drop-ins in order > --config file.
  const caFlag = lastFlag(view.flags, 'client-ca-file');
  if (caFlag) {
    view.clientCAFile = flagSourced(caFlag, '--client-ca-file');
  } else {
    for (const layer of [...layers].reverse()) {
      // A merge-patch null deletes the key, or the map holding it, from the layers below.
      const auth = getPath(layer.data, ['authentication', 'x509']);
      const raw =
        auth && typeof auth === 'object' ? (auth as Record<string, unknown>)['clientCAFile'] : undefined;
      if (
        getPath(layer.data, ['authentication']) === null ||
        getPath(layer.data, ['authentication', 'x509']) === null ||
        raw === null
      ) {
        view.clientCADeletedBy = layer.path;
        break;
      }
      if (auth && typeof auth === 'object' && 'clientCAFile' in auth) {
        const value = typeof raw === 'string' ? raw : String(raw);
        const isDropIn = layer !== view.config;
        view.clientCAFile = {
          value: resolveAgainst(posix.dirname(view.config?.path ?? layer.path), value),
          source: layer.path,
          key: 'authentication.x509.clientCAFile',
          layer: isDropIn ? 'drop-in' : 'config',
        };
        break;
      }
    }
  }

  const kubeconfigFlag = lastFlag(view.flags, 'kubeconfig');
  if (kubeconfigFlag?.value) view.kubeconfig = flagSourced(kubeconfigFlag, '--kubeconfig');

  const podFlag = lastFlag(view.flags, 'pod-manifest-path');
  if (podFlag?.value) view.staticPodPath = flagSourced(podFlag, '--pod-manifest-path');
  else {
    for (const layer of [...layers].reverse()) {
      const v = getPath(layer.data, ['staticPodPath']);
      if (typeof v === 'string' && v) {
        view.staticPodPath = {
          value: resolveAgainst(posix.dirname(view.config?.path ?? layer.path), v),
          source: layer.path,
          key: 'staticPodPath',
          layer: layer === view.config ? 'config' : 'drop-in',
        };
        break;
      }
    }
  }
  return view;
}
