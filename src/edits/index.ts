/** Text in, text out: the edits kubemend makes to node files. Pure; the caller reads and writes. */
export { EditError, type EditResult } from './result.js';
export { setApiserverFlags, type FlagSetting } from './apiserver-manifest.js';
export { setKubeletClientCA, setKubeletConfigValue, type ConfigEdit } from './kubelet-config.js';
export { renderKubeletDropIn } from './kubelet-dropin.js';
export { renderSystemdEnvDropIn, setFlagInEnvFile, setFlagInUnitEnvironment } from './flags-text.js';
export { unifiedDiff } from './diff.js';
export { execStartText, renderExecStartDropIn, setFlagOnExecStart } from './execstart.js';
