import { createHash } from 'node:crypto';
import type { FileFact, NodeFacts, PairResult } from './types.js';

const decode = (b64: string | undefined): string =>
  b64 === undefined || b64 === '-' ? '' : Buffer.from(b64, 'base64').toString('utf8');

const decodeBytes = (b64: string | undefined): Buffer =>
  b64 === undefined || b64 === '-' ? Buffer.alloc(0) : Buffer.from(b64, 'base64');

function statFields(path: string, status: string, rest: string[]): FileFact {
  const fact: FileFact = { path, status: status as FileFact['status'] };
  if (rest.length >= 4) {
    fact.size = Number(rest[0]);
    fact.mode = rest[1];
    fact.uid = Number(rest[2]);
    fact.gid = Number(rest[3]);
  }
  return fact;
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
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const f = line.split(' ');
    if (f[0] === 'KM1' && f[1] === 'DONE') facts.complete = true;
    if (f[0] !== 'KM') continue;
    switch (f[1]) {
      case 'TOOL':
        facts.tools[f[2] ?? ''] = f[3] === 'yes';
        break;
      case 'WHOAMI':
        facts.uid = Number(f[2]);
        break;
      case 'PROC': {
        const argv = decodeBytes(f[4]).toString('utf8').split('\0');
        if (argv.at(-1) === '') argv.pop();
        const cwd = decode(f[5]);
        facts.processes.push({ pid: Number(f[2]), comm: decode(f[3]), argv, ...(cwd ? { cwd } : {}) });
        break;
      }
      case 'UNIT': {
        const show: Record<string, string> = {};
        for (const l of decode(f[3]).split('\n')) {
          const eq = l.indexOf('=');
          if (eq > 0) show[l.slice(0, eq)] = l.slice(eq + 1);
        }
        facts.units.set(f[2] ?? '', { name: f[2] ?? '', show, cat: decode(f[4]) });
        break;
      }
      case 'FILE': {
        const path = decode(f[2]);
        const fact = statFields(path, f[3] ?? 'missing', f.slice(4));
        if (fact.status === 'ok') {
          const chunks: string[] = [];
          while (i + 1 < lines.length && lines[i + 1] !== 'KM END') chunks.push(lines[++i] ?? '');
          i++;
          const bytes = Buffer.from(chunks.join(''), 'base64');
          fact.content = bytes.toString('utf8');
          fact.truncated = (fact.size ?? 0) > maxFileBytes;
          if (!fact.truncated) fact.sha256 = createHash('sha256').update(bytes).digest('hex');
        }
        facts.files.set(path, fact);
        break;
      }
      case 'STAT': {
        const path = decode(f[2]);
        facts.stats.set(path, statFields(path, f[3] ?? 'missing', f.slice(4)));
        break;
      }
      case 'LIST': {
        const dir = decode(f[2]);
        facts.dirs.set(dir, f[3] === 'missing' ? null : decode(f[3]).split('\n').filter(Boolean));
        break;
      }
      case 'PAIR':
        facts.pairs.push({
          cert: decode(f[2]),
          key: decode(f[3]),
          result: (f[4] ?? 'unreadable') as PairResult,
        });
        break;
    }
  }
  return facts;
}
