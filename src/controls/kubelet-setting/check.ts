/**
 * The judge of one kubelet setting (facts/kubelet-setting.ts): the value from the layer that wins,
 * with its sources, against what the control wants. The client CA's own check (its folder) has
 * more to say (the bundle, the apiserver's certificate); settings such as anonymous auth and the
 * authorization mode are judged here whole.
 */
import { readSetting, type KubeletSetting } from '../../facts/kubelet-setting.js';
import type { Sourced } from '../../facts/kubelet.js';
import type { NodeModel } from '../../facts/model.js';
import { unsupportedSkip } from '../skip.js';
import type { ControlCheck, Evidence } from '../types.js';

/** Where a value came from, in a reviewer's words. */
export function fromWhere(s: Sourced<unknown>): string {
  if (s.layer === 'default')
    return s.key.includes('without --config')
      ? 'the legacy default of a kubelet without --config'
      : "the kubelet's default";
  if (s.layer === 'flag')
    return s.via ? `the ${s.key} flag (set in ${s.via.file} via $${s.via.variable})` : `the ${s.key} flag`;
  return `${s.key} in ${s.layer === 'drop-in' ? 'drop-in ' : ''}${s.source}`;
}

export function judgeKubeletSetting<T extends string | boolean | number>(
  model: NodeModel,
  setting: KubeletSetting,
  want: { ok: (value: T) => boolean; text: string },
): ReturnType<ControlCheck['check']> {
  const { kubelet } = model;
  const unsupported = unsupportedSkip(model.layout);
  if (unsupported) return unsupported;
  if (!kubelet.present)
    return {
      status: 'skip',
      reason: 'no kubelet on this node (no kubelet process and no kubelet.service unit)',
      evidence: [],
      warnings: [],
    };
  const evidence: Evidence[] = [];
  const warnings: string[] = [];
  if (kubelet.process)
    evidence.push({
      source: kubelet.argvSource,
      key: 'process',
      value: `kubelet, pid ${kubelet.process.pid}`,
    });
  else warnings.push('the kubelet is not running; the result is read from its systemd unit and files');
  const reading = readSetting(kubelet.sources, setting);
  const value = reading.effective;
  // A flag decides whatever the files say; else a file the kubelet cannot read leaves it unknown.
  if (reading.invalid) return { status: 'error', reason: reading.invalid, evidence, warnings };
  if (kubelet.errors.length > 0 && value?.layer !== 'flag')
    return { status: 'error', reason: kubelet.errors.join('; '), evidence, warnings };
  warnings.push(...kubelet.errors);
  if (!value)
    return {
      status: 'fail',
      reason: `${setting.path.join('.')} is not set: ${want.text}`,
      evidence,
      warnings,
    };
  evidence.push({ source: value.source, key: value.key, value: String(value.value) });
  if (value.via)
    evidence.push({
      source: value.via.file,
      key: value.via.variable,
      value: `(contains ${value.key}=${String(value.value)})`,
    });
  for (const w of reading.wrongCase)
    warnings.push(`${w.path} spells ${w.key}, which the kubelet ignores in its --config file`);
  const shown = `${setting.path.join('.')} is ${JSON.stringify(value.value)} (${fromWhere(value)})`;
  return want.ok(value.value as T)
    ? { status: 'pass', reason: shown, evidence, warnings }
    : { status: 'fail', reason: `${shown}: ${want.text}`, evidence, warnings };
}
