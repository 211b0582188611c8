// Types for install.mjs, for the TypeScript lab orchestration.
export declare const LAB_LIB_DIR: '/usr/local/lib/kubemend-lab';
export declare const APISERVER_PATH: '/usr/local/bin/kube-apiserver';
/**
 * Writes the simulators, the yaml package and the launchers into a node's root directory.
 * Returns the in-node paths written (the yaml package directory as one entry).
 */
export declare function installSims(rootDir: string, options?: { kubeletPaths?: string[] }): string[];
