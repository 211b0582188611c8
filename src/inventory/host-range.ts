/** Ansible host patterns: `web[01:03].example.com`, `db-[a:c]`, `node[0:10:2]`, and `name:port`. */

const range = /\[([^\][:]*):([^\][:]*)(?::(\d+))?\]/;

export function expandHostPattern(pattern: string): string[] | { error: string } {
  const match = range.exec(pattern);
  if (!match) return [pattern];
  const [whole, rawStart = '', end = '', stepText] = match;
  const start = rawStart === '' ? '0' : rawStart;
  const step = stepText === undefined ? 1 : Number(stepText);
  if (step < 1) return { error: `the step in ${whole} must be at least 1` };
  const values: string[] = [];
  if (/^\d+$/.test(start) && /^\d+$/.test(end)) {
    // A leading zero asks for fixed width, and then both ends must have it (as Ansible requires).
    const width = start.length > 1 && start.startsWith('0') ? start.length : 0;
    if (width > 0 && end.length !== width)
      return { error: `${whole} must give both ends the same number of digits` };
    if (Number(end) < Number(start)) return { error: `${whole} ends before it starts` };
    for (let n = Number(start); n <= Number(end); n += step) values.push(String(n).padStart(width, '0'));
  } else if (/^[a-zA-Z]$/.test(start) && /^[a-zA-Z]$/.test(end)) {
    if (end < start) return { error: `${whole} ends before it starts` };
    for (let c = start.charCodeAt(0); c <= end.charCodeAt(0); c += step) values.push(String.fromCharCode(c));
  } else {
    return { error: `${whole} is not a range of numbers ([01:10]) or letters ([a:f])` };
  }
  const before = pattern.slice(0, match.index);
  const after = pattern.slice(match.index + whole.length);
  const rest = expandHostPattern(after);
  if ('error' in rest) return rest;
  return values.flatMap((value) => rest.map((tail) => `${before}${value}${tail}`));
}

/** `host:2222` → name and port, as Ansible allows in host keys; IPv6 addresses are left alone. */
export function splitHostPort(key: string): { name: string; port?: number } {
  const match = /^((?:[^:[\]]|\[[^\]]*\])+):(\d+)$/.exec(key);
  if (!match) return { name: key };
  return { name: match[1] ?? key, port: Number(match[2]) };
}
