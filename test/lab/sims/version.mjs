// What both simulators report as their version (`--version`, /version); a valid semver that no
// real release carries.
export const SIM_VERSION = 'v1.30.0-kubemend-sim';
