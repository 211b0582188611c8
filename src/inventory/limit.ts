import { UsageError } from '../errors.js';
import type { NodeTarget } from './types.js';
import { globToRegExp } from './glob.js';
import { suggest } from './suggest.js';

/**
 * --limit: a comma list of patterns matched against node names and group names, with `*`, `?`
 * and `[abc]`. `!pattern` removes what it matches. Inventory order is kept. `all` is every node.
 */
export function selectNodes(nodes: NodeTarget[], limit: string | undefined): NodeTarget[] {
  const patterns = (limit ?? '')
    .split(',')
    .map((pattern) => pattern.trim())
    .filter((pattern) => pattern !== '');
  if (patterns.length === 0) return nodes;

  const groups = [...new Set(nodes.flatMap((node) => node.groups))];
  const include: RegExp[] = [];
  const exclude: RegExp[] = [];
  const unmatched: string[] = [];
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const body = negated ? pattern.slice(1).trim() : pattern;
    const regexp = body === 'all' ? /^/ : globToRegExp(body, { classes: true, caseInsensitive: false });
    if (!nodes.some((node) => matches(node, regexp))) unmatched.push(pattern);
    (negated ? exclude : include).push(regexp);
  }
  if (unmatched.length > 0) throw noMatch(unmatched, nodes, groups);

  const selected = nodes.filter(
    (node) =>
      (include.length === 0 || include.some((regexp) => matches(node, regexp))) &&
      !exclude.some((regexp) => matches(node, regexp)),
  );
  if (selected.length === 0) {
    throw new UsageError(`--limit '${limit ?? ''}' leaves no node selected`, [
      'the ! patterns remove every node the other patterns select',
    ]);
  }
  return selected;
}

function matches(node: NodeTarget, regexp: RegExp): boolean {
  return regexp.test(node.name) || node.groups.some((group) => regexp.test(group));
}

function noMatch(patterns: string[], nodes: NodeTarget[], groups: string[]): UsageError {
  const quoted = patterns.map((p) => `'${p}'`).join(', ');
  const message =
    patterns.length === 1
      ? `--limit pattern ${quoted} matches no node or group`
      : `--limit patterns ${quoted} match no node or group`;
  const names = nodes.map((node) => node.name);
  const details: string[] = [];
  for (const pattern of patterns) {
    const guess = suggest(pattern.replace(/^!/, ''), [...groups, ...names]);
    if (guess) details.push(`'${pattern}': did you mean '${pattern.startsWith('!') ? '!' : ''}${guess}'?`);
  }
  details.push(
    groups.length > 0 ? `available groups: ${groups.join(', ')}` : 'the inventory defines no groups',
  );
  details.push(
    `nodes: ${names.length > 12 ? `${names.slice(0, 12).join(', ')}, … (${names.length} in all)` : names.join(', ')}`,
  );
  return new UsageError(message, details);
}
