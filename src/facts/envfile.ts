/**
 * systemd EnvironmentFile= syntax: KEY=VALUE lines, `#`/`;` comments, single quotes literal,
 * double quotes with backslash escapes, a trailing backslash continues the line (kubespray's
 * kubelet.env relies on that inside double quotes). `export KEY=…` lines are not assignments.
 */
export function parseEnvFile(text: string): Map<string, string> {
  const env = new Map<string, string>();
  const logical: string[] = [];
  let acc = '';
  for (const raw of text.split('\n')) {
    if (raw.endsWith('\\')) {
      acc += raw.slice(0, -1);
      continue;
    }
    logical.push(acc + raw);
    acc = '';
  }
  if (acc) logical.push(acc);
  for (const line of logical) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    // systemd takes no `export` prefix: it logs "Ignoring invalid environment assignment" and skips
    // the line (seen on systemd 252), so such a line sets nothing for the kubelet.
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(trimmed);
    if (!m) continue;
    env.set(m[1] ?? '', unquote(m[2] ?? ''));
  }
  return env;
}

function unquote(value: string): string {
  let out = '';
  let i = 0;
  while (i < value.length) {
    const c = value[i] ?? '';
    if (c === "'") {
      const end = value.indexOf("'", i + 1);
      out += value.slice(i + 1, end < 0 ? undefined : end);
      i = end < 0 ? value.length : end + 1;
    } else if (c === '"') {
      i++;
      while (i < value.length && value[i] !== '"') {
        // systemd's env-file.c: inside double quotes only \" \\ \` \$ are escapes; `\n` stays two characters.
        if (value[i] === '\\' && i + 1 < value.length && '"\\`$'.includes(value[i + 1] ?? '')) i++;
        out += value[i];
        i++;
      }
      i++;
    } else if (c === '\\' && i + 1 < value.length) {
      // Unquoted, a backslash takes the next character as it is.
      out += value[i + 1];
      i += 2;
    } else if (/\s/.test(c)) {
      // Unquoted trailing whitespace is dropped; inner whitespace is kept as one space.
      const rest = value.slice(i).trim();
      if (rest) out += ' ';
      i++;
      while (i < value.length && /\s/.test(value[i] ?? '')) i++;
    } else {
      out += c;
      i++;
    }
  }
  return out.replace(/\s+$/, '');
}
