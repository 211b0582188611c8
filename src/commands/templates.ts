import { readFileSync } from 'node:fs';
import type { Templates } from '../plan/change.js';

const dir = new URL('../../templates/', import.meta.url);

/** The files kubemend renders, shipped in templates/ beside src/ and dist/. */
export function loadTemplates(): Templates {
  const read = (name: string) => readFileSync(new URL(name, dir), 'utf8');
  return {
    dropInYaml: read('kubelet.dropin.yaml'),
    dropInJson: read('kubelet.dropin.json'),
    systemdEnv: read('kubelet-env.dropin.conf'),
    systemdExecStart: read('kubelet-execstart.dropin.conf'),
  };
}
