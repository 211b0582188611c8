// The kubelet's effective configuration (node-facts §1): defaults < --config file < --config-dir
// drop-ins (lexical walk order, JSON merge patch) < command-line flags. Errors are thrown with
// the wording of cmd/kubelet/app/server.go; the caller exits 1 on them.
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { goErrnoText, goFileError, parseGoBool, parseGoDuration, parseGoInt } from './go-values.mjs';
import { API_VERSION, CONFIG_FLAGS, DEFAULTS, KIND, PATH_FIELDS, SCHEMA } from './kubelet-config-schema.mjs';

const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);

const getPath = (obj, keys) => keys.reduce((o, k) => (isMap(o) ? o[k] : undefined), obj);

function setPath(obj, keys, value) {
  let o = obj;
  for (const k of keys.slice(0, -1)) o = isMap(o[k]) ? o[k] : (o[k] = {});
  o[keys.at(-1)] = value;
}

/**
 * @param {Map<string, string>} flags parsed command line
 * @param {{ info: Function }} log for the lenient-decoding notice
 * @returns {object} the effective configuration, v1beta1 field names
 */
export function loadKubeletConfig(flags, log) {
  const configFile = flags.get('config') ?? '';
  const dropinDir = flags.get('config-dir') ?? '';
  const flavour = configFile ? 'v1beta1' : 'legacy';
  let config = applyDefaults({ apiVersion: API_VERSION, kind: KIND }, flavour);
  if (configFile) {
    try {
      config = applyDefaults(readConfigFile(path.resolve(configFile), log, true), flavour);
    } catch (err) {
      throw new Error(
        `failed to load kubelet config file, path: ${configFile}, error: ` +
          `failed to load Kubelet config file ${configFile}, error ${err.message}`,
      );
    }
  }
  if (dropinDir) {
    for (const file of walkDropins(dropinDir)) {
      let patch;
      try {
        patch = readDropIn(path.resolve(file));
      } catch (err) {
        throw new Error(
          `failed to merge kubelet configs: failed to walk through kubelet dropin directory "${dropinDir}": ` +
            `failed to load kubelet dropin file, path: ${file}, error: ${err.message}`,
        );
      }
      config = mergePatch(config, patch);
    }
    // encoding/json reads the merged map: keys fold case, in byte order; unknown keys are dropped
    // without a word (no lenient-decoding log line for drop-ins); wrong types are fatal.
    try {
      config = foldCase(config, SCHEMA);
      checkFields(config, SCHEMA, '', []);
    } catch (err) {
      throw new Error(`failed to merge kubelet configs: ${err.message}`);
    }
    config = applyDefaults(config, flavour);
  }
  try {
    applyFlags(config, flags);
  } catch (err) {
    throw new Error(`failed to parse kubelet flag: ${err.message}`);
  }
  validate(config);
  return config;
}

/** Reads one KubeletConfiguration document (YAML or JSON), strict first, then lenient. */
function readConfigFile(file, log, resolvePaths) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`failed to read kubelet config file "${file}", error: ${goFileError(file, err)}`);
  }
  if (text.length === 0) throw new Error(`kubelet config file "${file}" was empty`);
  const strictErrors = [];
  const obj = decode(text, strictErrors);
  if (!isMap(obj))
    throw new Error(`failed to decode: couldn't get version/kind; json parse error: not an object`);
  if (!obj.kind) throw new Error(`failed to decode: Object 'Kind' is missing in '${JSON.stringify(obj)}'`);
  if (obj.apiVersion !== API_VERSION || obj.kind !== KIND) {
    throw new Error(`failed to decode: no kind "${obj.kind}" is registered for version "${obj.apiVersion}"`);
  }
  checkFields(obj, SCHEMA, '', strictErrors);
  if (strictErrors.length > 0) {
    // The real decoder retries leniently (v1beta1 only) and drops what strict decoding rejected.
    log.info('Using lenient decoding as strict decoding failed', {
      err: `strict decoding error: ${strictErrors.join(', ')}`,
    });
  }
  if (resolvePaths) {
    for (const keys of PATH_FIELDS) {
      const value = getPath(obj, keys);
      if (typeof value === 'string' && value !== '' && !path.isAbsolute(value)) {
        setPath(obj, keys, path.join(path.dirname(file), value));
      }
    }
  }
  return obj;
}

/**
 * A drop-in is decoded into an untyped map, strictly (a duplicate key is fatal, there is no
 * lenient retry), must say it is a KubeletConfiguration, and keeps its keys as written; its
 * relative paths are not resolved (node-facts §1.3).
 */
function readDropIn(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`failed to read kubelet config file "${file}", error: ${goFileError(file, err)}`);
  }
  const doc = YAML.parseAllDocuments(text, { version: '1.1' })[0];
  if (doc?.errors.length) throw new Error(`failed to decode: yaml: ${doc.errors[0].message.split('\n')[0]}`);
  const obj = doc?.toJS() ?? null;
  if (!isMap(obj) || !obj.kind || !obj.apiVersion) throw new Error('no apiVersion/kind');
  if (obj.apiVersion !== API_VERSION || obj.kind !== KIND) {
    throw new Error(`unknown apiVersion/kind: ${obj.apiVersion}/${obj.kind}`);
  }
  return obj;
}

// Go sorts map keys by bytes when it writes the merged JSON; encoding/json then reads them in order.
const byteOrder = (a, b) => cmp(a, b);

/**
 * The merged map as encoding/json reads it into the struct: each known field takes every key that
 * matches it case-insensitively, in byte order, later ones over earlier ones (objects merge);
 * unknown keys are dropped. Fields of type "any" keep their content as it is.
 */
function foldCase(obj, schema) {
  if (!isMap(obj) || !isMap(schema)) return obj;
  const out = {};
  const keys = Object.keys(obj).sort(byteOrder);
  for (const field of Object.keys(schema)) {
    const matching = keys.filter((k) => k.toLowerCase() === field.toLowerCase());
    if (matching.length === 0) continue;
    let value;
    for (const k of matching) value = isMap(value) && isMap(obj[k]) ? mergePatch(value, obj[k]) : obj[k];
    out[field] = isMap(schema[field]) ? foldCase(value, schema[field]) : value;
  }
  return out;
}

/** sigs.k8s.io/yaml reads YAML 1.1 (JSON is a subset); duplicate keys are strict errors only. */
function decode(text, strictErrors) {
  let doc = YAML.parseAllDocuments(text, { version: '1.1' })[0];
  if (doc?.errors.length && doc.errors.every((e) => e.code === 'DUPLICATE_KEY')) {
    strictErrors.push(...doc.errors.map((e) => e.message.split('\n')[0]));
    doc = YAML.parseAllDocuments(text, { version: '1.1', uniqueKeys: false })[0];
  }
  if (doc?.errors.length) {
    throw new Error(`failed to decode: yaml: ${doc.errors[0].message.split('\n')[0]}`);
  }
  return doc?.toJS() ?? null;
}

const TYPE_OK = {
  any: () => true,
  string: (v) => typeof v === 'string',
  bool: (v) => typeof v === 'boolean',
  int: (v) => Number.isInteger(v),
  duration: (v) => typeof v === 'string' && Number.isFinite(parseGoDuration(v)),
};

const jsonType = (v) => (Array.isArray(v) ? 'array' : isMap(v) ? 'object' : typeof v);

/** Drops unknown fields (noting them as strict errors) and rejects wrong types of known ones. */
function checkFields(obj, schema, prefix, strictErrors) {
  for (const [key, value] of Object.entries(obj)) {
    const spec = schema[key];
    const field = prefix + key;
    if (spec === undefined) {
      strictErrors.push(`unknown field "${field}"`); // field names are case-sensitive
      delete obj[key];
    } else if (value === null) {
      delete obj[key]; // encoding/json leaves the zero value for null
    } else if (isMap(spec)) {
      if (!isMap(value)) throw typeError(field, value, 'struct');
      checkFields(value, spec, `${field}.`, strictErrors);
    } else {
      let ok;
      try {
        ok = TYPE_OK[spec](value);
      } catch (err) {
        throw new Error(`failed to decode: ${err.message}`);
      }
      if (!ok) throw typeError(field, value, spec);
    }
  }
}

function typeError(field, value, type) {
  const goType = { string: 'string', bool: 'bool', int: 'int32', duration: 'string', struct: 'struct' }[type];
  return new Error(
    `failed to decode: json: cannot unmarshal ${jsonType(value)} into Go struct field ` +
      `KubeletConfiguration.${field} of type ${goType}`,
  );
}

/** filepath.WalkDir order: each directory's entries sorted by name, depth first; only *.conf files. */
function walkDropins(root) {
  const files = [];
  const visit = (p, isDir) => {
    if (!isDir) {
      if (path.extname(p) === '.conf' || path.basename(p) === '.conf') files.push(p);
      return;
    }
    for (const entry of fs.readdirSync(p, { withFileTypes: true }).sort((a, b) => cmp(a.name, b.name))) {
      visit(path.join(p, entry.name), entry.isDirectory());
    }
  };
  let stat;
  try {
    stat = fs.lstatSync(root);
  } catch (err) {
    throw new Error(
      `failed to merge kubelet configs: failed to walk through kubelet dropin directory "${root}": ` +
        `lstat ${root}: ${goErrnoText(err)}`,
    );
  }
  visit(root, stat.isDirectory());
  return files;
}

// Go sorts names by bytes.
const cmp = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** RFC 7386 JSON merge patch: maps merge, everything else (lists too) is replaced, null deletes. */
export function mergePatch(target, patch) {
  if (!isMap(patch)) return patch;
  const out = isMap(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

function applyDefaults(config, flavour) {
  for (const d of DEFAULTS) {
    const value = getPath(config, d.path);
    const zero = value === '' || value === 0 || (typeof value === 'string' && safeDuration(value) === 0);
    if (value === undefined || value === null || (d.zeroIsUnset && zero))
      setPath(config, d.path, JSON.parse(JSON.stringify(d[flavour])));
  }
  return config;
}

function safeDuration(text) {
  try {
    return parseGoDuration(text);
  } catch {
    return undefined;
  }
}

function applyFlags(config, flags) {
  for (const [name, { path: keys, type }] of Object.entries(CONFIG_FLAGS)) {
    if (!flags.has(name)) continue;
    const raw = flags.get(name);
    const value = type === 'bool' ? parseGoBool(name, raw) : type === 'int' ? parseGoInt(name, raw) : raw;
    if (type === 'duration') {
      try {
        parseGoDuration(raw);
      } catch (err) {
        throw new Error(`invalid argument "${raw}" for "--${name}" flag: ${err.message}`);
      }
    }
    setPath(config, keys, value);
  }
}

/** The checks of ValidateKubeletConfiguration that concern the fields the simulator uses. */
function validate(config) {
  const errors = [];
  const inRange = (v, min) => v >= min && v <= 65535;
  const portError = (field, flag, min) =>
    `invalid configuration: ${field} (--${flag}) ${config[field]} must be between ${min} and 65535, inclusive`;
  if (!inRange(config.port, 1)) errors.push(portError('port', 'port', 1));
  // 0 turns the healthz server off, but the message still says 1.
  if (config.healthzPort !== 0 && !inRange(config.healthzPort, 1)) {
    errors.push(portError('healthzPort', 'healthz-port', 1));
  }
  if (!inRange(config.readOnlyPort, 0)) errors.push(portError('readOnlyPort', 'read-only-port', 0));
  if (parseGoDuration(config.fileCheckFrequency) < 0) {
    errors.push(
      `invalid configuration: fileCheckFrequency (--file-check-frequency) ${config.fileCheckFrequency} must not be a negative number`,
    );
  }
  if (errors.length > 0) {
    throw new Error(`failed to validate kubelet configuration, error: [${errors.join(', ')}]`);
  }
}
