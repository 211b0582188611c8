import { parseEnvFile } from './envfile.js';
import {
  isEnvName,
  replaceInWord,
  resolveSpecifiers,
  systemdWords,
  unitSpecifiers,
  wholeWordVariable,
} from './systemd-escapes.js';

/** One word of an expanded ExecStart, with the file that put it there. */
export interface Word {
  text: string;
  /** The unit file, drop-in or environment file the word came from. */
  source: string;
  /** The environment variable it was expanded from, if any. */
  variable?: string;
  /** For a word of a running process: the file that set the variable it came from. */
  origin?: string;
}

export interface UnitFile {
  path: string;
  text: string;
}

export interface ServiceModel {
  /** Unit file first, then drop-ins in the order systemd applies them. */
  files: UnitFile[];
  /**
   * The ExecStart that systemd runs, as written (continuations joined), the file it was set in, and
   * the line of that file where the directive starts (1-based).
   */
  execStart?: { line: string; source: string; lineNumber?: number };
  /** ExecStartPre= commands in force (an empty one resets the list), with their file. */
  execStartPre: { line: string; source: string }[];
  /** Environment= assignments, in order, with their file. */
  environment: { name: string; value: string; source: string }[];
  /** EnvironmentFile= paths in order; optional ones were written with a leading '-'. */
  environmentFiles: { path: string; optional: boolean; source: string }[];
  /** WorkingDirectory= (absolute; `~` and empty mean systemd's default, `/`, here). */
  workingDirectory?: string;
}

/** Splits `systemctl cat` output into its files (each starts with a `# /path` line). */
export function splitSystemctlCat(cat: string): UnitFile[] {
  const files: UnitFile[] = [];
  let current: UnitFile | undefined;
  const lines = cat.split('\n');
  lines.forEach((line, i) => {
    const header = /^# (\/\S+\.(?:service|conf))$/.exec(line);
    if (header && (i === 0 || lines[i - 1] === '')) {
      current = { path: header[1] ?? '', text: '' };
      files.push(current);
    } else if (current) {
      current.text += (current.text ? '\n' : '') + line;
    }
  });
  for (const f of files) f.text = f.text.replace(/\n+$/, '\n');
  return files;
}

/**
 * Logical lines of the [Service] section with the line each starts on (1-based): continuations
 * joined, comment lines dropped wherever they are (systemd skips them, also inside a continued
 * directive, and a trailing backslash on one continues nothing).
 */
function serviceLines(text: string): { text: string; lineNumber: number }[] {
  const out: { text: string; lineNumber: number }[] = [];
  let section = '';
  let acc: string | undefined;
  let startedAt = 0;
  text.split('\n').forEach((raw, i) => {
    // A comment line is skipped before continuations are looked at (systemd's conf-parser.c): one
    // ending in a backslash does not swallow the next line, and one inside a directive is dropped.
    if (/^\s*[#;]/.test(raw)) return;
    if (acc === undefined) startedAt = i + 1;
    const line = (acc ?? '') + raw;
    if (line.endsWith('\\')) {
      acc = line.slice(0, -1) + ' ';
      return;
    }
    acc = undefined;
    const t = line.trim();
    if (!t || t.startsWith('#') || t.startsWith(';')) return;
    const sec = /^\[(.+)\]$/.exec(t);
    if (sec) {
      section = sec[1] ?? '';
      return;
    }
    if (section === 'Service') out.push({ text: t, lineNumber: startedAt });
  });
  return out;
}

/** A unit value's words as systemd splits them (quotes, C escapes); on a line systemd refuses, plain whitespace words. */
export function splitWords(line: string): string[] {
  const words = systemdWords(line);
  return words.ok ? words.value : line.split(/\s+/).filter(Boolean);
}

export function serviceModel(files: UnitFile[]): ServiceModel {
  const model: ServiceModel = { files, execStartPre: [], environment: [], environmentFiles: [] };
  const specifiers = unitSpecifiers(files[0]?.path);
  for (const file of files) {
    for (const { text: line, lineNumber } of serviceLines(file.text)) {
      const eq = line.indexOf('=');
      if (eq < 0) continue;
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      if (key === 'ExecStart') {
        // An empty ExecStart= resets the list (the kubeadm etcd-only drop-in relies on it).
        model.execStart = value ? { line: value, source: file.path, lineNumber } : undefined;
      } else if (key === 'ExecStartPre') {
        if (!value) model.execStartPre = [];
        else model.execStartPre.push({ line: value, source: file.path });
      } else if (key === 'Environment') {
        // Specifiers, then quotes and C escapes, as systemd reads it; a line it cannot read it ignores.
        const words = systemdWords(resolveSpecifiers(value, specifiers));
        for (const word of words.ok ? words.value : []) {
          const e = word.indexOf('=');
          if (e > 0)
            model.environment.push({ name: word.slice(0, e), value: word.slice(e + 1), source: file.path });
        }
      } else if (key === 'WorkingDirectory') {
        const dir = value.replace(/^-/, '');
        if (dir.startsWith('/')) model.workingDirectory = dir;
        else delete model.workingDirectory;
      } else if (key === 'EnvironmentFile') {
        if (!value) model.environmentFiles = [];
        else {
          const optional = value.startsWith('-');
          const written = optional ? value.slice(1) : value;
          model.environmentFiles.push({
            path: resolveSpecifiers(written, specifiers),
            optional,
            source: file.path,
          });
        }
      }
    }
  }
  return model;
}

export interface EnvValue {
  value: string;
  source: string;
}

/**
 * The service's environment: Environment= first, then EnvironmentFile= files in order, which
 * override it (systemd.exec). `readFile` returns a file's text, or undefined when it is absent.
 */
export function serviceEnvironment(
  model: ServiceModel,
  readFile: (path: string) => string | undefined,
): Map<string, EnvValue> {
  const env = new Map<string, EnvValue>();
  for (const e of model.environment) env.set(e.name, { value: e.value, source: e.source });
  for (const f of model.environmentFiles) {
    const text = readFile(f.path);
    if (text === undefined) continue;
    for (const [name, value] of parseEnvFile(text)) env.set(name, { value, source: f.path });
  }
  return env;
}

/**
 * ExecStart as the kubelet gets it (systemd-escapes.ts): specifiers resolved and C escapes undone
 * when the unit is read; then `$VAR` alone becomes several words (split on whitespace, quotes
 * group), `${VAR}` inside a word its value, `$$` a dollar sign; an unset variable expands to
 * nothing. Prefixes such as `-` are dropped. Undefined when systemd could not read the line either.
 */
export function readExecStart(
  execStart: { line: string; source: string },
  env: Map<string, EnvValue>,
  fragmentPath?: string,
): { ok: true; words: Word[] } | { ok: false; error: string } {
  const split = systemdWords(resolveSpecifiers(execStart.line, unitSpecifiers(fragmentPath)));
  if (!split.ok)
    return { ok: false, error: `the ExecStart= in ${execStart.source} cannot be read: ${split.error}` };
  const words: Word[] = [];
  for (const [index, raw] of split.value.entries()) {
    const word = index === 0 ? raw.replace(/^[-@+!:|]+/, '') : raw;
    const name = wholeWordVariable(word);
    if (name !== undefined) {
      // An invalid name is dropped like an unset one.
      const v = isEnvName(name) ? env.get(name) : undefined;
      if (!v) continue;
      const parts = systemdWords(v.value, false);
      for (const part of parts.ok ? parts.value : v.value.split(/\s+/).filter(Boolean))
        words.push({ text: part, source: v.source, variable: name });
      continue;
    }
    let usedVar: { name: string; source: string } | undefined;
    const text = replaceInWord(
      word,
      (n) => env.get(n)?.value,
      (n) => (usedVar = { name: n, source: env.get(n)?.source ?? execStart.source }),
    );
    words.push(
      usedVar ? { text, source: usedVar.source, variable: usedVar.name } : { text, source: execStart.source },
    );
  }
  return { ok: true, words };
}

/** readExecStart's words, or none when systemd could not read the line. */
export function expandExecStart(
  execStart: { line: string; source: string },
  env: Map<string, EnvValue>,
  fragmentPath?: string,
): Word[] {
  const read = readExecStart(execStart, env, fragmentPath);
  return read.ok ? read.words : [];
}
