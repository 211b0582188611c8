import { readFileSync } from 'node:fs';
import type { Templates } from '../../../src/plan/change.js';

const read = (name: string) => readFileSync(new URL(`../../../templates/${name}`, import.meta.url), 'utf8');

/** The drop-in templates kubemend ships, as the CLI loads them. */
export const builtinTemplates = (): Templates => ({
  dropInYaml: read('kubelet.dropin.yaml'),
  dropInJson: read('kubelet.dropin.json'),
  systemdEnv: read('kubelet-env.dropin.conf'),
  systemdExecStart: read('kubelet-execstart.dropin.conf'),
});
