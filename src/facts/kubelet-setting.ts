/**
 * Kubelet settings as data (the way kube-bench's cfg names a check's flag and config path): one
 * reader works out, for any of them, the layer that wins (node-facts §1.4: flags > --config-dir
 * drop-ins in walk order > --config file > the kubelet's default, which depends on whether --config
 * is given, §1.5), where it was written and how it was spelled. A kubelet control names its setting;
 * the planner (controls/kubelet-setting/) writes it in that layer.
 */
import { posix } from 'node:path';
import { goBool, goInt, lastFlag, swallowsNext, type Flag } from './flags.js';
import { deletedBy, dropInSpellings, effectiveField, type MergeLayer } from './kubelet-merge.js';
import type { Sourced } from './kubelet.js';
import type { Word } from './systemd.js';

export type SettingType = 'path' | 'string' | 'bool' | 'int';
type ValueOf<K extends SettingType> = K extends 'bool' ? boolean : K extends 'int' ? number : string;

/** One kubelet setting: its flag, its KubeletConfiguration path and its type. */
export interface KubeletSetting<K extends SettingType = SettingType> {
  /** The command-line flag, without dashes (`client-ca-file`). */
  flag: string;
  /** The field in KubeletConfiguration, canonical spelling (`authentication.x509.clientCAFile`). */
  path: readonly string[];
  type: K;
  /** The kubelet's value when nothing sets it: with --config (v1beta1 defaulting) and without. */
  defaults?: { v1beta1: ValueOf<K>; legacy: ValueOf<K> };
  /** A zero value in a file is unset (a non-pointer field, which v1beta1 defaulting fills). */
  zeroIsUnset?: boolean;
}

const setting = <K extends SettingType>(s: KubeletSetting<K>): KubeletSetting<K> => s;

/** The settings kubemend reads (cmd/kubelet/app/options, pkg/kubelet/apis/config/v1beta1/defaults.go). */
export const KUBELET = {
  clientCAFile: setting({
    flag: 'client-ca-file',
    path: ['authentication', 'x509', 'clientCAFile'],
    type: 'path',
  }),
  anonymousAuth: setting({
    flag: 'anonymous-auth',
    path: ['authentication', 'anonymous', 'enabled'],
    type: 'bool',
    defaults: { v1beta1: false, legacy: true },
  }),
  webhookAuthentication: setting({
    flag: 'authentication-token-webhook',
    path: ['authentication', 'webhook', 'enabled'],
    type: 'bool',
    defaults: { v1beta1: true, legacy: false },
  }),
  authorizationMode: setting({
    flag: 'authorization-mode',
    path: ['authorization', 'mode'],
    type: 'string',
    defaults: { v1beta1: 'Webhook', legacy: 'AlwaysAllow' },
    zeroIsUnset: true,
  }),
  healthzPort: setting({
    flag: 'healthz-port',
    path: ['healthzPort'],
    type: 'int',
    defaults: { v1beta1: 10248, legacy: 10248 },
  }),
  healthzBindAddress: setting({
    flag: 'healthz-bind-address',
    path: ['healthzBindAddress'],
    type: 'string',
    defaults: { v1beta1: '127.0.0.1', legacy: '127.0.0.1' },
    zeroIsUnset: true,
  }),
  address: setting({
    flag: 'address',
    path: ['address'],
    type: 'string',
    defaults: { v1beta1: '0.0.0.0', legacy: '0.0.0.0' },
    zeroIsUnset: true,
  }),
  port: setting({
    flag: 'port',
    path: ['port'],
    type: 'int',
    defaults: { v1beta1: 10250, legacy: 10250 },
    zeroIsUnset: true,
  }),
  readOnlyPort: setting({
    flag: 'read-only-port',
    path: ['readOnlyPort'],
    type: 'int',
    defaults: { v1beta1: 0, legacy: 10255 },
  }),
  staticPodPath: setting({ flag: 'pod-manifest-path', path: ['staticPodPath'], type: 'path' }),
} as const;

/** What the reader needs of the kubelet: its command line, its merged files, where it runs. */
export interface SettingSources {
  argv: Word[];
  argvSource: string;
  flags: Flag[];
  /** The --config file (if it parsed) and the drop-ins that parsed, in walk order. */
  layers: readonly MergeLayer[];
  /** The kubelet's working directory (relative paths in flags and drop-ins). */
  cwd: string;
  /** Whether --config is given: it decides which defaults apply. */
  hasConfig: boolean;
}

/** A setting as the kubelet would see it, with what the planner needs to write it. */
export interface SettingReading<T> {
  /** The value that wins (absent: unset everywhere and no default). */
  effective?: Sourced<T>;
  /** A file sets it to a value of the wrong type: a decode error, the kubelet refuses to start. */
  invalid?: string;
  /** Spellings in the --config file that differ only in case: the kubelet drops them silently. */
  wrongCase: { path: string; key: string }[];
  /** Other spellings in drop-ins: they take effect (drop-in keys fold case). */
  dropInSpellings: { path: string; key: string }[];
  /** The drop-in whose merge-patch null deleted the value of the layers below it. */
  deletedBy?: string;
}

function resolveAgainst(dir: string | undefined, p: string): string {
  return p && !p.startsWith('/') && dir ? posix.resolve(dir, p) : p;
}

/** A flag's value as the kubelet's flag parser reads it (Go's strconv, through pflag). */
function parseFlagValue(type: SettingType, raw: string): string | boolean | number | undefined {
  return type === 'bool' ? goBool(raw) : type === 'int' ? goInt(raw) : raw;
}

/** A file's value as decoded into the KubeletConfiguration field. */
function parse(type: SettingType, raw: unknown): string | boolean | number | undefined {
  switch (type) {
    case 'bool':
      return typeof raw === 'boolean'
        ? raw
        : raw === 'true' || raw === ''
          ? true
          : raw === 'false'
            ? false
            : undefined;
    case 'int':
      return typeof raw === 'number' && Number.isInteger(raw)
        ? raw
        : typeof raw === 'string' && /^\d+$/.test(raw)
          ? Number(raw)
          : undefined;
    default:
      return typeof raw === 'string' ? raw : undefined;
  }
}

/** Keys along `path` in the --config file whose spelling differs only by case. */
function wrongCaseIn(layer: MergeLayer, path: readonly string[]): { path: string; key: string }[] {
  const found: { path: string; key: string }[] = [];
  const walk = (obj: unknown, trail: string[]) => {
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return;
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      const exact = path[trail.length];
      if (exact === undefined || k.toLowerCase() !== exact.toLowerCase()) continue;
      if (k !== exact) found.push({ path: layer.path, key: [...trail, k].join('.') });
      else walk(v, [...trail, k]);
    }
  };
  walk(layer.data, []);
  return found;
}

/** Reads one setting from the layer that wins. */
export function readSetting<K extends SettingType>(
  src: SettingSources,
  s: KubeletSetting<K>,
): SettingReading<ValueOf<K>> {
  type T = ValueOf<K>;
  const config = src.layers.find((l) => l.kind === 'config');
  const reading: SettingReading<T> = {
    wrongCase: config ? wrongCaseIn(config, s.path) : [],
    dropInSpellings: dropInSpellings(src.layers, s.path),
  };
  const flag = lastFlag(src.flags, s.flag);
  const before = flag ? src.argv[flag.index - 1]?.text : undefined;
  if (flag && swallowsNext(before)) {
    // pflag gives the word before it this flag as its value: the files decide, not this flag.
    reading.invalid = `the kubelet's command line (${src.argvSource}) has ${JSON.stringify(before)} right before --${s.flag}: the kubelet takes --${s.flag}… as that flag's value, not as --${s.flag}; give ${JSON.stringify(before)} its value with =`;
    return reading;
  }
  const fromFlag = flag ? parseFlagValue(s.type, flag.value) : undefined;
  if (flag && fromFlag === undefined) {
    // The kubelet runs with this flag, so it read it; kubemend cannot tell as what. Never fall
    // through to the files: the flag wins over them whatever it says.
    reading.invalid = `the kubelet's command line (${src.argvSource}) has --${s.flag}=${JSON.stringify(flag.value)}, which kubemend does not read as ${s.type === 'bool' ? 'true or false' : 'a number'}; write it as --${s.flag}=${s.type === 'bool' ? 'true or --' + s.flag + '=false' : 'N'}`;
    return reading;
  }
  if (flag && fromFlag !== undefined) {
    const word = src.argv[flag.index];
    const file = word?.origin ?? word?.source;
    reading.effective = {
      value: (s.type === 'path' ? resolveAgainst(src.cwd, flag.value) : fromFlag) as T,
      key: `--${s.flag}`,
      layer: 'flag',
      source: src.argvSource,
      ...(word?.variable && file ? { via: { variable: word.variable, file } } : {}),
    };
    return reading;
  }
  const merged = src.layers.length > 0 ? effectiveField(src.layers, s.path) : undefined;
  const value = merged ? parse(s.type, merged.value) : undefined;
  if (merged && value === undefined)
    reading.invalid = `${merged.source} sets ${merged.key} to ${JSON.stringify(merged.value)}, not ${s.type === 'bool' ? 'true or false' : s.type === 'int' ? 'a number' : 'a string'}: the kubelet refuses to start`;
  if (merged && value !== undefined && !(s.zeroIsUnset && (value === 0 || value === ''))) {
    // Relative paths: the --config file's against its directory; a drop-in's are not resolved, so
    // the kubelet opens them against its working directory (node-facts §1.1, §1.3).
    const base = merged.kind === 'config' ? posix.dirname(merged.source) : src.cwd;
    reading.effective = {
      value: (s.type === 'path' ? resolveAgainst(base, value as string) : value) as T,
      source: merged.source,
      key: merged.key,
      layer: merged.kind === 'config' ? 'config' : 'drop-in',
    };
    return reading;
  }
  if (!merged) {
    const deleter = deletedBy(src.layers, s.path);
    if (deleter) reading.deletedBy = deleter;
  }
  if (s.defaults) {
    const mode = src.hasConfig ? 'v1beta1' : 'legacy';
    reading.effective = {
      value: s.defaults[mode] as T,
      source: src.argvSource,
      key: `${s.path.join('.')} (kubelet default${mode === 'legacy' ? ' without --config' : ''})`,
      layer: 'default',
    };
  }
  return reading;
}
