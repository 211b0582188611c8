/**
 * Renders a kubelet drop-in that sets only `authentication.x509.clientCAFile`. Used where editing
 * the base config is not enough: kubelets run with `--config-dir` (drop-ins override the file) and
 * layouts that regenerate the base file at boot (EKS AL2023 nodeadm). The caller reads the template
 * (`templates/kubelet-client-ca.dropin.{yaml,json}`) and names the file `*.conf`, the only suffix
 * the kubelet merges.
 */
import { isDeepStrictEqual } from 'node:util';
import { parseDocument } from 'yaml';
import { assertOneLine, EditError } from './result.js';
import { renderScalar } from './yaml-text.js';

/** `{{clientCAFile}}`, bare or inside the quotes that keep the template itself valid YAML/JSON. */
const PLACEHOLDER = /(["']?)\{\{\s*clientCAFile\s*\}\}\1/g;

export function renderClientCADropIn(template: string, caPath: string, format: 'yaml' | 'json'): string {
  assertOneLine('the client CA path', caPath);
  if (caPath === '') throw new EditError('the client CA path is empty');
  if (!template.match(PLACEHOLDER))
    throw new EditError('the drop-in template has no {{clientCAFile}} placeholder');
  const scalar = format === 'json' ? JSON.stringify(caPath) : renderScalar(caPath, 'PLAIN');
  const out = template.replace(PLACEHOLDER, () => scalar);
  check(out, caPath, format);
  return out;
}

/** The rendered drop-in must be a KubeletConfiguration whose only setting is the client CA. */
function check(out: string, caPath: string, format: 'yaml' | 'json'): void {
  let value: unknown;
  try {
    if (format === 'json') value = JSON.parse(out);
    else {
      const doc = parseDocument(out);
      if (doc.errors[0]) throw doc.errors[0];
      value = doc.toJS();
    }
  } catch (e) {
    throw new EditError(
      `the drop-in template does not render to valid ${format.toUpperCase()}: ${(e as Error).message}`,
    );
  }
  const want = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    authentication: { x509: { clientCAFile: caPath } },
  };
  if (!isDeepStrictEqual(value, want))
    throw new EditError(
      'the drop-in template must hold a KubeletConfiguration (apiVersion, kind) setting only authentication.x509.clientCAFile',
    );
}
