// The kubelet's file source for static pods (node-facts §2, k/k pkg/kubelet/config/file*.go):
// every entry of staticPodPath not starting with a dot, sorted, no extension filter, no
// recursion; one Pod per file; pods keyed by namespace/name. A full relist every
// fileCheckFrequency replaces the whole set (the file that sorts last wins); between relists,
// inotify events update single pods (the most recently written file wins).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { clearInterval, setInterval } from 'node:timers';
import YAML from 'yaml';

const MAX_MANIFEST_BYTES = 10 * 1024 * 1024;

const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** JSON with sorted keys, so the hash depends on the pod's content, not on key order or formatting. */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isMap(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Decodes and checks one manifest, then applies the kubelet's defaults: the name gets the node
 * name appended, the namespace defaults to "default", and the identity hash covers the decoded
 * pod, the node name and the file path (applyDefaults in config/common.go), so a comment-only
 * edit keeps the pod and a moved file gives a new one.
 * @returns {{ key: string, namespace: string, name: string, file: string, hash: string, pod: object }}
 */
export function readManifest(file, nodeName) {
  const data = fs.readFileSync(file);
  if (data.length > MAX_MANIFEST_BYTES) throw new Error(`file ${file} is too big (over 10 MiB)`);
  const doc = YAML.parseAllDocuments(data.toString('utf8'), { version: '1.1' })[0];
  if (!doc || doc.errors.length > 0) {
    throw new Error(`invalid pod: ${doc ? doc.errors[0].message.split('\n')[0] : 'empty document'}`);
  }
  const pod = doc.toJS();
  if (!isMap(pod) || pod.apiVersion !== 'v1' || pod.kind !== 'Pod') {
    throw new Error(`invalid pod: the object is not a v1 Pod`);
  }
  const manifestName = pod.metadata?.name;
  if (typeof manifestName !== 'string' || manifestName === '') {
    throw new Error('invalid pod: metadata.name: Required value: name or generateName is required');
  }
  const containers = pod.spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    throw new Error('invalid pod: spec.containers: Required value');
  }
  for (const field of ['command', 'args']) {
    const value = containers[0]?.[field];
    if (value !== undefined && value !== null && !Array.isArray(value)) {
      throw new Error(`invalid pod: spec.containers[0].${field} must be a list of strings`);
    }
  }
  const namespace = pod.metadata.namespace || 'default';
  const name = `${manifestName}-${nodeName}`;
  const hash = createHash('sha256')
    .update(canonical(pod))
    .update(`host:${nodeName}`)
    .update(`file:${file}`)
    .digest('hex');
  return { key: `${namespace}/${name}`, namespace, name, file, hash, pod };
}

/** Non-dot entries of the directory, sorted (filepath.Glob of "<dir>/[^.]*"), or the path itself if it is a file. */
function manifestFiles(staticPath, log) {
  const stat = fs.statSync(staticPath, { throwIfNoEntry: false });
  if (!stat) return []; // a missing path means no static pods
  if (!stat.isDirectory()) return [staticPath];
  let names;
  try {
    names = fs.readdirSync(staticPath);
  } catch (err) {
    log.error('Unable to read config path', { err, path: staticPath });
    return [];
  }
  const files = [];
  for (const name of names.filter((n) => !n.startsWith('.')).sort()) {
    const file = path.join(staticPath, name);
    const entry = fs.statSync(file, { throwIfNoEntry: false });
    if (entry?.isDirectory()) {
      log.error('Provided manifest path is a directory, not recursing into manifest path', { path: file });
    } else if (entry?.isFile()) {
      files.push(file);
    }
  }
  return files;
}

/**
 * Watches staticPodPath and calls onChange(Map key → pod entry) with the full desired set after
 * every relist and every inotify event.
 * @returns {() => void} stops watching
 */
export function watchStaticPods({ staticPath, checkEveryMs, nodeName, log, onChange }) {
  const store = new Map(); // key → entry
  const fileKeys = new Map(); // file → key, to drop a pod when its file goes away
  let watcher = null;

  const tryRead = (file, message) => {
    try {
      const entry = readManifest(file, nodeName);
      fileKeys.set(file, entry.key);
      return entry;
    } catch (err) {
      if (err.code !== 'ENOENT') log.error(message, { err, path: file });
      return null;
    }
  };

  const relist = () => {
    store.clear();
    fileKeys.clear();
    for (const file of manifestFiles(staticPath, log)) {
      const entry = tryRead(file, 'Could not process manifest file');
      if (entry) store.set(entry.key, entry); // a later file replaces an earlier one with the same key
    }
    ensureWatch();
    onChange(new Map(store));
  };

  const onEvent = (_type, name) => {
    if (!name || name.startsWith('.')) return; // dot-files are ignored in events too
    const file = path.join(staticPath, name);
    if (fs.statSync(file, { throwIfNoEntry: false })?.isFile()) {
      // A file that does not parse leaves the running pod alone until the next relist.
      const entry = tryRead(file, "can't process config file");
      if (entry) store.set(entry.key, entry);
    } else if (fileKeys.has(file)) {
      store.delete(fileKeys.get(file));
      fileKeys.delete(file);
    }
    onChange(new Map(store));
  };

  // The directory may not exist yet; the watch is retried at every relist.
  const ensureWatch = () => {
    const stat = fs.statSync(staticPath, { throwIfNoEntry: false });
    if (watcher || !stat) return;
    try {
      watcher = fs.watch(staticPath, stat.isDirectory() ? onEvent : relist);
    } catch (err) {
      log.error('Unable to watch the static pod path, relying on the relist', { err, path: staticPath });
      return;
    }
    watcher.on('error', () => {
      watcher.close();
      watcher = null;
    });
  };

  relist();
  const timer = setInterval(relist, checkEveryMs);
  return () => {
    clearInterval(timer);
    watcher?.close();
  };
}
