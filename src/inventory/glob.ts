/** Glob patterns as users write them in --limit and in ~/.ssh/config Host lines. */

export interface GlobOptions {
  /** `[abc]`, `[a-z]`, `[!abc]` classes (--limit); ssh config patterns only know `*` and `?`. */
  classes: boolean;
  caseInsensitive: boolean;
}

export function globToRegExp(pattern: string, options: GlobOptions): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? '';
    if (char === '*') {
      source += '.*';
    } else if (char === '?') {
      source += '.';
    } else if (char === '[' && options.classes) {
      const close = pattern.indexOf(']', i + 2);
      if (close === -1) {
        source += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negated = body.startsWith('!') || body.startsWith('^');
      if (negated) body = body.slice(1);
      source += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else {
      source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, options.caseInsensitive ? 'i' : '');
}

export function hasGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}
