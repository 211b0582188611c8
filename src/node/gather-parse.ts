/**
 * The gather script's output (src/node/gather-script.ts describes its `KM …` lines) read into
 * NodeFacts: the only reader of those markers; the layers above see typed facts.
 */
import { createHash } from 'node:crypto';
import type { FileFact, IgnoredProcess, NodeFacts, PairResult } from '../facts/types.js';

/** `<size> <mode> <uid> <gid> <path…>`: the path is the rest of the line, spaces included. */
function statLine(status: string, rest: string): FileFact {
  const m = /^(\d+) (\d+) (\d+) (\d+) (.*)$/.exec(rest);
  if (!m) return { path: rest, status: status as FileFact['status'] };
  return {
    path: m[5] ?? '',
    status: status as FileFact['status'],
    size: Number(m[1]),
    mode: m[2] ?? '',
    uid: Number(m[3]),
    gid: Number(m[4]),
  };
}

/** Splits "KM <TAG> <word> <rest…>". */
function fields(line: string, n: number): string[] {
  const out: string[] = [];
  let rest = line;
  for (let i = 0; i < n; i++) {
    const sp = rest.indexOf(' ');
    if (sp < 0) {
      out.push(rest);
      rest = '';
      break;
    }
    out.push(rest.slice(0, sp));
    rest = rest.slice(sp + 1);
  }
  out.push(rest);
  return out;
}

/** Decodes the gather script's framed output (see src/node/gather-script.ts). */
export function parseFacts(output: string, maxFileBytes = 262_144): NodeFacts {
  const facts: NodeFacts = {
    processes: [],
    units: new Map(),
    files: new Map(),
    stats: new Map(),
    dirs: new Map(),
    pairs: [],
    tools: {},
    complete: false,
  };
  const lines = output.split('\n');
  const block = (from: number): { body: string[]; next: number } => {
    const body: string[] = [];
    let i = from;
    while (i + 1 < lines.length && lines[i + 1] !== 'KM END') body.push(lines[++i] ?? '');
    return { body, next: i + 1 };
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === 'KM1 DONE') facts.complete = true;
    if (!line.startsWith('KM ')) continue;
    const [, tag] = fields(line, 2);
    switch (tag) {
      case 'TOOL': {
        const [, , name, answer] = fields(line, 3);
        facts.tools[name ?? ''] = answer === 'yes';
        break;
      }
      case 'KUBECONFIG': {
        const [, , path] = fields(line, 2);
        const { body, next } = block(i);
        i = next;
        const ca = { files: [] as string[], pem: [] as string[] };
        for (const l of body) {
          const [key, value] = fields(l, 1);
          if (key === 'certificate-authority' && value) ca.files.push(value);
          if (key === 'certificate-authority-data' && value)
            ca.pem.push(Buffer.from(value, 'base64').toString('utf8'));
        }
        (facts.kubeconfigCAs ??= new Map()).set(path ?? '', ca);
        break;
      }
      case 'REL':
        (facts.relative ??= []).push(fields(line, 2)[2] ?? '');
        break;
      case 'WHOAMI':
        facts.uid = Number(fields(line, 2)[2]);
        break;
      case 'PROC': {
        const [, , pid, comm, cwd] = fields(line, 4);
        const { body, next } = block(i);
        i = next;
        const argv = Buffer.from(body.join(''), 'base64').toString('utf8').split('\0');
        if (argv.at(-1) === '') argv.pop();
        facts.processes.push({ pid: Number(pid), comm: comm ?? '', argv, ...(cwd ? { cwd } : {}) });
        break;
      }
      case 'IGNORED': {
        const m =
          /^KM IGNORED ([1-9]\d{0,9}) (\d+|unknown) (\d+|unknown) (\S+) (notroot|nounit|notpod|notstatic|outranked|ambiguous)$/.exec(
            line,
          );
        if (!m) break;
        const uid = (u: string | undefined) => (u === undefined || u === 'unknown' ? null : Number(u));
        (facts.ignored ??= []).push({
          pid: Number(m[1]),
          ruid: uid(m[2]),
          euid: uid(m[3]),
          comm: m[4] ?? '',
          why: m[5] as IgnoredProcess['why'],
        });
        break;
      }
      case 'IGNORED-MORE':
        facts.ignoredMore = Number(fields(line, 2)[2]) || 0;
        break;
      case 'UNIT': {
        const [, , name] = fields(line, 2);
        const { body, next } = block(i);
        i = next;
        const show: Record<string, string> = {};
        for (const l of body) {
          const eq = l.indexOf('=');
          if (eq > 0) show[l.slice(0, eq)] = l.slice(eq + 1);
        }
        facts.units.set(name ?? '', { name: name ?? '', show, cat: '' });
        break;
      }
      case 'FILES': {
        const stats: FileFact[] = [];
        while (i + 1 < lines.length && lines[i + 1] !== 'KM DATA' && lines[i + 1] !== 'KM END')
          stats.push(statLine('ok', lines[++i] ?? ''));
        const { body, next } = lines[i + 1] === 'KM DATA' ? block(i + 1) : { body: [], next: i + 1 };
        i = next;
        const data = Buffer.from(body.join(''), 'base64');
        const small = stats.filter((f) => (f.size ?? 0) <= maxFileBytes);
        if (small.reduce((sum, f) => sum + (f.size ?? 0), 0) !== data.length) {
          facts.changedWhileRead = small.map((f) => f.path);
          break;
        }
        let offset = 0;
        for (const fact of stats) {
          if ((fact.size ?? 0) <= maxFileBytes) {
            const bytes = data.subarray(offset, offset + (fact.size ?? 0));
            offset += bytes.length;
            fact.content = bytes.toString('utf8');
            fact.truncated = false;
            fact.sha256 = createHash('sha256').update(bytes).digest('hex');
          } else {
            fact.truncated = true;
          }
          facts.files.set(fact.path, fact);
        }
        break;
      }
      case 'BIG': {
        const [, , path] = fields(line, 2);
        const { body, next } = block(i);
        i = next;
        const fact = facts.files.get(path ?? '');
        if (fact) fact.content = Buffer.from(body.join(''), 'base64').toString('utf8');
        break;
      }
      case 'FILE': {
        const [, , status, rest] = fields(line, 3);
        facts.files.set(rest ?? '', { path: rest ?? '', status: status as FileFact['status'] });
        break;
      }
      case 'STAT': {
        const [, , status, rest] = fields(line, 3);
        const fact =
          status === 'missing'
            ? { path: rest ?? '', status: 'missing' as const }
            : statLine(status ?? '', rest ?? '');
        facts.stats.set(fact.path, fact);
        break;
      }
      case 'LIST': {
        const [, , status, dir] = fields(line, 3);
        if (status === 'missing') {
          facts.dirs.set(dir ?? '', null);
          break;
        }
        const { body, next } = block(i);
        i = next;
        facts.dirs.set(dir ?? '', body.filter(Boolean).sort());
        break;
      }
      case 'PAIR': {
        const [, , result, rest] = fields(line, 3);
        const tab = (rest ?? '').indexOf('\t');
        facts.pairs.push({
          cert: (rest ?? '').slice(0, tab),
          key: (rest ?? '').slice(tab + 1),
          result: (result ?? 'unreadable') as PairResult,
        });
        break;
      }
    }
  }
  for (const unit of facts.units.values()) unit.cat = unitText(unit.show, facts.files);
  return facts;
}

/** The unit's files as `systemctl cat` prints them, from what `systemctl show` names. */
function unitText(show: Record<string, string>, files: Map<string, FileFact>): string {
  const paths = [show['FragmentPath'] ?? '', ...(show['DropInPaths'] ?? '').split(' ')].filter((p) =>
    p.startsWith('/'),
  );
  return paths
    .map((p) => files.get(p))
    .filter((f): f is FileFact => f?.content !== undefined)
    .map((f) => `# ${f.path}\n${(f.content ?? '').replace(/\n?$/, '\n')}`)
    .join('\n');
}
