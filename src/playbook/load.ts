import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { UsageError } from '../errors.js';
import { playbookSchema } from './schema.js';
import type { NodeTarget } from '../inventory/types.js';
import type { Playbook } from './types.js';

/** The playbooks shipped with kubemend (playbooks/ beside src/ or dist/). */
export const BUILTIN_DIR = fileURLToPath(new URL('../../playbooks/', import.meta.url));

// verbose: errors carry their schema, so messages can name the allowed keys and formats.
const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
const validate = ajv.compile(playbookSchema);

const DEFAULTS = {
  kubelet: { dropInName: '90-kubemend-kubelet.conf' },
  timeouts: { kubeletHealthySec: 60, kubeletStableSec: 5, apiserverRestartSec: 180 },
  rollout: { serial: 1 },
};

function lineOf(doc: Document.Parsed, lines: LineCounter, instancePath: string): number {
  const keys = instancePath
    .split('/')
    .slice(1)
    .map((k) => (/^\d+$/.test(k) ? Number(k) : k.replaceAll('~1', '/').replaceAll('~0', '~')));
  for (let n = keys.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(keys.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return lines.linePos(range[0]).line;
  }
  return 1;
}

function describe(e: ErrorObject): { message: string; fix: string } {
  const where = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : 'the playbook';
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const near = allowed.find((a) => a.toLowerCase() === key.toLowerCase());
      return {
        message: `unknown key "${key}" in ${where}`,
        fix: near
          ? `did you mean "${near}"? (keys are case-sensitive)`
          : `remove it; allowed: ${allowed.join(', ')}`,
      };
    }
    case 'required': {
      const key = (e.params as { missingProperty: string }).missingProperty;
      return { message: `${where} lacks "${key}"`, fix: `add ${key}` };
    }
    case 'pattern':
      return {
        message: `${where} ${e.message ?? 'is malformed'}`,
        fix: (e.parentSchema as { description?: string } | undefined)?.description
          ? `give ${(e.parentSchema as { description: string }).description}`
          : 'see playbooks/kubeadm.yaml for the format',
      };
    default:
      return {
        message: `${where} ${e.message ?? 'is invalid'}`,
        fix: 'see playbooks/kubeadm.yaml for the format',
      };
  }
}

/** Validates playbook text; every problem is reported with file, line and the fix. */
export function parsePlaybook(file: string, text: string): Playbook {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const problems: string[] = [];
  for (const e of doc.errors)
    problems.push(
      `${file}:${lines.linePos(e.pos[0]).line}: ${e.message.split('\n')[0] ?? ''} — fix the YAML syntax`,
    );
  const data: unknown = problems.length === 0 ? doc.toJS() : undefined;
  if (problems.length === 0 && !validate(data)) {
    for (const e of validate.errors ?? []) {
      const { message, fix } = describe(e);
      problems.push(`${file}:${lineOf(doc, lines, e.instancePath)}: ${message} — ${fix}`);
    }
  }
  if (problems.length > 0)
    throw new UsageError(
      `playbook ${file} has ${problems.length} problem${problems.length > 1 ? 's' : ''}`,
      problems,
    );
  const p = data as Partial<Playbook> & Pick<Playbook, 'name' | 'kubelet'>;
  return {
    description: '',
    layouts: [],
    ...p,
    kubelet: { ...DEFAULTS.kubelet, ...p.kubelet },
    timeouts: { ...DEFAULTS.timeouts, ...p.timeouts },
    rollout: { ...DEFAULTS.rollout, ...p.rollout },
    ...(p.apiserver ? { apiserver: { ...p.apiserver, fix: p.apiserver.fix ?? '' } } : {}),
    file,
  };
}

export function loadPlaybookFile(file: string): Playbook {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read playbook ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      [`give -p an existing file, or one of the built-in playbooks: ${builtinNames().join(', ')}`],
    );
  }
  return parsePlaybook(file, text);
}

export function builtinNames(): string[] {
  return readdirSync(BUILTIN_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => basename(f, '.yaml'));
}

export function loadBuiltinPlaybooks(): Playbook[] {
  return builtinNames().map((n) => loadPlaybookFile(join(BUILTIN_DIR, `${n}.yaml`)));
}

/** `-p` or an inventory `playbook`: a built-in name or a file path. */
export function resolvePlaybook(ref: string): Playbook {
  return builtinNames().includes(ref)
    ? loadPlaybookFile(join(BUILTIN_DIR, `${ref}.yaml`))
    : loadPlaybookFile(ref);
}

/** The playbook for a node: inventory choice, else -p, else the one listing its layout, else generic. */
export function playbookFor(
  layout: string | null,
  choice: { node?: string; cli?: string },
  builtins: readonly Playbook[],
): Playbook {
  const ref = choice.node ?? choice.cli;
  if (ref) return resolvePlaybook(ref);
  return (
    builtins.find((p) => layout && p.layouts.includes(layout)) ??
    builtins.find((p) => p.name === 'generic') ??
    (() => {
      throw new UsageError('no generic playbook found in playbooks/');
    })()
  );
}

/**
 * Applies an inventory node's `params` (any part of a playbook) over the playbook, validated the
 * same way. An `apiserver` part is left out for a playbook without one (EKS: there is no
 * kube-apiserver on the node), so one set of params can serve every layout a node may turn out to be.
 */
export function withParams(playbook: Playbook, params: Record<string, unknown>, where: string): Playbook {
  const { apiserver, ...rest } = params;
  const effective = playbook.apiserver || apiserver === undefined ? params : rest;
  if (Object.keys(effective).length === 0) return playbook;
  const merged = deepMerge(structuredClone(playbook) as unknown as Record<string, unknown>, effective);
  delete merged['file'];
  if (!validate(merged)) {
    throw new UsageError(
      `params for ${where} do not fit playbook ${playbook.name}`,
      (validate.errors ?? []).map((e) => {
        const d = describe(e);
        return `${d.message} — ${d.fix}`;
      }),
    );
  }
  return { ...(merged as unknown as Playbook), file: `${playbook.file} + params of ${where}` };
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(over)) {
    const b = base[k];
    base[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return base;
}

/**
 * Before any node is touched: -p and every node's `playbook` must load, and each node's `params`
 * must fit every playbook the node may get (its own, else -p, else any built-in: the layout, known
 * only on the node, picks one). Throws one UsageError (exit 2) listing every problem.
 */
export function checkPlaybookChoices(targets: readonly NodeTarget[], cli: string | undefined): void {
  const problems: string[] = [];
  const loaded = new Map<string, Playbook | undefined>();
  const load = (ref: string): Playbook | undefined => {
    if (!loaded.has(ref)) {
      try {
        loaded.set(ref, resolvePlaybook(ref));
      } catch (e) {
        loaded.set(ref, undefined);
        problems.push((e as Error).message, ...((e as UsageError).details ?? []).map((d) => `  ${d}`));
      }
    }
    return loaded.get(ref);
  };
  const builtins = loadBuiltinPlaybooks();
  const cliPlaybook = cli ? load(cli) : undefined;
  for (const t of targets) {
    const own = t.playbook ? load(t.playbook) : undefined;
    if ((t.playbook && !own) || (cli && !cliPlaybook) || Object.keys(t.params).length === 0) continue;
    const candidates = own ? [own] : cliPlaybook ? [cliPlaybook] : builtins;
    const where = `node ${t.name}${t.paramsAt ? ` (${t.paramsAt})` : ''}`;
    for (const p of candidates) {
      try {
        withParams(p, t.params, where);
      } catch (e) {
        problems.push((e as Error).message, ...((e as UsageError).details ?? []).map((d) => `  ${d}`));
        break;
      }
    }
  }
  if (problems.length > 0) throw new UsageError('the playbook settings cannot be used', problems);
}
