/** "Did you mean" for near-miss keys and names. */

/** Names people write for a field, mapped to the field kubemend expects. */
const aliases: Record<string, string> = {
  hostname: 'host',
  address: 'host',
  addr: 'host',
  ip: 'host',
  ansiblehost: 'host',
  username: 'user',
  login: 'user',
  ansibleuser: 'user',
  sshuser: 'user',
  key: 'identityFile',
  keyfile: 'identityFile',
  identity: 'identityFile',
  privatekey: 'identityFile',
  privatekeyfile: 'identityFile',
  sshkey: 'identityFile',
  knownhosts: 'knownHostsFile',
  userknownhostsfile: 'knownHostsFile',
  sudo: 'become',
  jump: 'proxyJump',
  jumphost: 'proxyJump',
  bastion: 'proxyJump',
  proxy: 'proxyJump',
  group: 'groups',
  vars: 'params',
  parameters: 'params',
  param: 'params',
  type: 'role',
  sshport: 'port',
  ansibleport: 'port',
};

function normalise(word: string): string {
  return word.toLowerCase().replace(/[-_\s]/g, '');
}

export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The candidate the user most likely meant, or undefined when nothing is close. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const norm = normalise(word);
  const alias = aliases[norm];
  if (alias !== undefined && candidates.includes(alias)) return alias;
  const exact = candidates.find((c) => normalise(c) === norm);
  if (exact !== undefined) return exact;
  // A word cut short (`ident`, `ansible_ssh_private_key`) is still recognisable.
  const longer = norm.length >= 4 ? candidates.find((c) => normalise(c).startsWith(norm)) : undefined;
  if (longer !== undefined) return longer;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(norm, normalise(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = norm.length <= 4 ? 1 : 2;
  return bestDistance <= allowed ? best : undefined;
}

/** 'a', 'b' and 'c' */
export function listWords(words: readonly string[]): string {
  return words.map((w) => `'${w}'`).join(', ');
}
