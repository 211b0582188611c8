import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

// Where the lab keeps things on the host. Fixed paths (not under the repo) because they hold
// root-owned mounts and a cache shared by every checkout on the machine.
export const CACHE_DIR = '/var/cache/kubemend-lab';
export const LIB_DIR = '/var/lib/kubemend-lab';
// /run: lab state describes live kernel objects (mounts, netns, PIDs); it must outlive the process
// that ran `up` (so `down` works after a crash) but has no meaning after a reboot.
export const RUN_DIR = '/run/kubemend-lab';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
// Fixtures live next to the repository (../shared/fixtures); KUBEMEND_FIXTURES overrides it for
// checkouts laid out differently.
export const FIXTURES_DIR = process.env.KUBEMEND_FIXTURES ?? resolve(REPO_ROOT, '../shared/fixtures');

export const labStateDir = (lab: string): string => join(RUN_DIR, lab);
export const labStatePath = (lab: string): string => join(RUN_DIR, lab, 'state.json');
export const labDir = (lab: string): string => join(LIB_DIR, lab);
