/**
 * Unified diffs of planned edits, for review and for `plan --diff FILE`. Paths carry the node name
 * (`a/cp-1/etc/kubernetes/manifests/kube-apiserver.yaml`) so one patch can cover many nodes and
 * still apply with `patch -p1` / `git apply` inside a directory holding one folder per node.
 */
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';

/** An empty string when nothing changes; `before: null` means the file is created. */
export function unifiedDiff(node: string, path: string, before: string | null, after: string): string {
  if (before === after) return '';
  const rel = `${node}${path.startsWith('/') ? '' : '/'}${path}`;
  return createTwoFilesPatch(
    before === null ? '/dev/null' : `a/${rel}`,
    `b/${rel}`,
    before ?? '',
    after,
    undefined,
    undefined,
    {
      context: 3,
      headerOptions: FILE_HEADERS_ONLY,
    },
  );
}
