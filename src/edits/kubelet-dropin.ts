/**
 * Renders a kubelet drop-in that sets one setting (a KubeletConfiguration path) and nothing else.
 * Used where editing the base config is not enough: kubelets run with `--config-dir` (drop-ins
 * override the file) and layouts that regenerate the base file at boot (EKS AL2023 nodeadm). The
 * caller reads the template (`templates/kubelet.dropin.{yaml,json}`: a header, apiVersion and kind;
 * the YAML one's comment says what the drop-in is for through `{{purpose}}`) and names the file
 * `*.conf`, the only suffix the kubelet merges. A second setting for the same drop-in is an edit of
 * the rendered file (setKubeletConfigValue), not another drop-in.
 */
import { isDeepStrictEqual } from 'node:util';
import { parseDocument } from 'yaml';
import { setKubeletConfigValue, yamlSettingLines, type ConfigEdit } from './kubelet-config.js';
import { assertOneLine, EditError } from './result.js';

const PURPOSE = /\{\{\s*purpose\s*\}\}/g;
const HEADER = { apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration' };

export function renderKubeletDropIn(
  template: string,
  edit: ConfigEdit,
  purpose: readonly string[],
  format: 'yaml' | 'json',
): string {
  if (edit.value === '') throw new EditError(`the value for ${edit.path.join('.')} is empty`);
  purpose.forEach((line) => assertOneLine('the drop-in comment', line));
  const head = template.replace(PURPOSE, () => purpose.join('\n# '));
  const read = (text: string): unknown => {
    try {
      if (format === 'json') return JSON.parse(text);
      const doc = parseDocument(text);
      if (doc.errors[0]) throw doc.errors[0];
      return doc.toJS();
    } catch (e) {
      throw new EditError(
        `the drop-in template does not render to valid ${format.toUpperCase()}: ${(e as Error).message}`,
      );
    }
  };
  if (!isDeepStrictEqual(read(head), HEADER))
    throw new EditError(
      'the drop-in template must hold a KubeletConfiguration (apiVersion, kind) and nothing else',
    );
  // YAML: the setting's block goes after the header (kubemend's own file, written in reading order);
  // JSON: the editor adds it as the last member, in the template's layout.
  const out =
    format === 'json'
      ? setKubeletConfigValue(head, edit, 'json').content
      : `${head.replace(/\n?$/, '\n')}${yamlSettingLines(edit).join('\n')}\n`;
  const want: Record<string, unknown> = { ...HEADER };
  let cur = want;
  edit.path.forEach((k, i) => {
    cur[k] = i === edit.path.length - 1 ? edit.value : {};
    cur = cur[k] as Record<string, unknown>;
  });
  if (!isDeepStrictEqual(read(out), want))
    throw new EditError(`the drop-in does not read back as setting only ${edit.path.join('.')}`);
  return out;
}
