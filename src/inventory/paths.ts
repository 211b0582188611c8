import * as path from 'node:path';

/** `~` and `~/x` → the home directory; other relative paths → against baseDir. */
export function resolveUserPath(value: string, baseDir: string, homeDir: string): string {
  if (value === '~') return homeDir;
  if (value.startsWith('~/')) return path.join(homeDir, value.slice(2));
  return path.resolve(baseDir, value);
}
