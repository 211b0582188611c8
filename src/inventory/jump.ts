/** ProxyJump specs, and the ssh arguments Ansible inventories use to reach hosts through a bastion. */
import { hostProblem, isIpv6Address, userProblem } from './address.js';

/** One hop as written: `[user@]host[:port]`. The host may name another inventory node or a ~/.ssh/config alias. */
export interface JumpSpec {
  host: string;
  user?: string;
  port?: number;
  /** Only from a ProxyCommand's `-i`; absolute. */
  identityFile?: string;
}

/** `a,b` → two hops, outermost first; `none` → no hops. */
export function parseProxyJump(value: string): { hops: JumpSpec[] } | { error: string } {
  if (value.trim().toLowerCase() === 'none') return { hops: [] };
  const hops: JumpSpec[] = [];
  for (const part of value.split(',')) {
    const hop = parseHop(part.trim());
    if ('error' in hop) return hop;
    hops.push(hop);
  }
  return { hops };
}

function parseHop(text: string): JumpSpec | { error: string } {
  let rest = text.startsWith('ssh://') ? text.slice('ssh://'.length).replace(/\/$/, '') : text;
  if (rest === '') return { error: 'a hop is empty' };
  if (/\s/.test(rest)) return { error: `'${rest}' contains a space` };
  const spec: JumpSpec = { host: '' };
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    spec.user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (spec.user === '') return { error: `'${text}' has an empty user` };
  }
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracketed) {
    spec.host = bracketed[1] ?? '';
    portText = bracketed[2];
  } else if (rest.split(':').length === 2) {
    [spec.host = '', portText] = rest.split(':');
  } else {
    spec.host = rest; // a name, or a bare IPv6 address
  }
  if (spec.host === '') return { error: `'${text}' has no host` };
  // Each hop's user and host end up in the ProxyCommand the system ssh builds from ProxyJump.
  const badUser = spec.user === undefined ? undefined : userProblem(spec.user);
  if (badUser) return { error: `user ${badUser}` };
  if (bracketed && !isIpv6Address(spec.host))
    return {
      error: `'[${spec.host}]' in '${text}' is not an IPv6 address (only those are written in brackets)`,
    };
  const badHost = hostProblem(spec.host);
  if (badHost) return { error: `host ${badHost}` };
  if (portText !== undefined) {
    const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535))
      return { error: `port '${portText}' in '${text}' is not from 1 to 65535` };
    spec.port = port;
  }
  return spec;
}

/** Splits a command line as a POSIX shell would: quotes group, backslash escapes. */
export function shellSplit(line: string): string[] | { error: string } {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i] ?? '';
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else word += char;
    } else if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1] ?? '')) word += line[++i];
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === '\\') {
      word += line[++i] ?? '';
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote) return { error: `a ${quote} quote is not closed` };
  if (inWord) words.push(word);
  return words;
}

/** A proxy as ssh options give it: a ProxyJump spec or a ProxyCommand (first one given wins, as in OpenSSH). */
export type ProxySetting = { kind: 'jump'; value: string } | { kind: 'command'; value: string };

export interface SshArgs {
  proxy?: ProxySetting;
  knownHostsFile?: string;
}

/** The parts of `ansible_ssh_common_args` / `ansible_ssh_extra_args` kubemend honours. */
export function parseSshArgs(args: string): SshArgs | { error: string } {
  const words = shellSplit(args);
  if ('error' in words) return words;
  const result: SshArgs = {};
  const option = (text: string): void => {
    const match = /^\s*([A-Za-z]+)\s*(?:=\s*|\s+)(.*)$/.exec(text);
    if (!match) return;
    const key = (match[1] ?? '').toLowerCase();
    const value = (match[2] ?? '').trim();
    if (key === 'proxyjump') result.proxy ??= { kind: 'jump', value };
    if (key === 'proxycommand') result.proxy ??= { kind: 'command', value };
    if (key === 'userknownhostsfile') result.knownHostsFile ??= shellFirstWord(value);
  };
  for (let i = 0; i < words.length; i++) {
    const word = words[i] ?? '';
    if (word === '-o') option(words[++i] ?? '');
    else if (word.startsWith('-o')) option(word.slice(2));
    else if (word === '-J') result.proxy ??= { kind: 'jump', value: words[++i] ?? '' };
    else if (word.startsWith('-J')) result.proxy ??= { kind: 'jump', value: word.slice(2) };
  }
  return result;
}

function shellFirstWord(value: string): string {
  const words = shellSplit(value);
  return Array.isArray(words) ? (words[0] ?? value) : value;
}

const flagsWithValue = new Set('BbcDEeFIiJLlmOopQRSWw'.split(''));
const flagsAlone = new Set('46AaCfGgKkMNnqsTtVvXxYy'.split(''));

/**
 * The classic bastion ProxyCommand, `ssh -W %h:%p [-q] [-p port] [-l user] [-i key] [user@]bastion`
 * (or `ssh bastion nc %h %p`), as the hop it amounts to. Anything else cannot be followed.
 */
export function parseProxyCommand(
  command: string,
): { hop: JumpSpec; identityFile?: string } | { error: string } {
  const words = shellSplit(command);
  if ('error' in words) return words;
  const unsupported = { error: 'only `ssh -W %h:%p [user@]bastion` is understood' };
  if (!/(^|\/)ssh$/.test(words[0] ?? '')) return unsupported;
  let forwards = false;
  let port: string | undefined;
  let user: string | undefined;
  let identityFile: string | undefined;
  const positional: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const word = words[i] ?? '';
    if (!word.startsWith('-') || positional.length > 0) {
      positional.push(word);
      continue;
    }
    const flag = word.slice(1, 2);
    if (flagsWithValue.has(flag)) {
      const value = word.length > 2 ? word.slice(2) : (words[++i] ?? '');
      if (flag === 'W') forwards = /^(%h|\[%h\]):%p$/.test(value);
      else if (flag === 'p') port = value;
      else if (flag === 'l') user = value;
      else if (flag === 'i') identityFile = value;
      else if (flag === 'J')
        return { error: 'a ProxyCommand with its own -J cannot be followed; use ProxyJump with two hops' };
      else if (flag === 'o') {
        const match = /^\s*([A-Za-z]+)\s*(?:=\s*|\s+)(.*)$/.exec(value);
        const key = match?.[1]?.toLowerCase();
        if (key === 'port') port = match?.[2];
        if (key === 'user') user = match?.[2];
        if (key === 'identityfile') identityFile = match?.[2];
      }
    } else if (![...word.slice(1)].every((c) => flagsAlone.has(c))) {
      return unsupported;
    }
  }
  const [destination, ...remote] = positional;
  if (remote.length > 0) forwards = /^(nc|netcat|ncat)\s+%h\s+%p$/.test(remote.join(' '));
  if (!forwards || destination === undefined) return unsupported;
  const parsed = parseProxyJump(port === undefined ? destination : `${destination}:${port}`);
  if ('error' in parsed) return parsed;
  const hop = parsed.hops[0];
  if (hop === undefined || parsed.hops.length !== 1) return unsupported;
  if (user !== undefined) {
    // ssh's -l wins over user@ in the destination; it ends up in ProxyJump=, which ssh hands to /bin/sh.
    const bad = userProblem(user);
    if (bad) return { error: `its -l / -o User: ${bad}` };
    hop.user = user;
  }
  return identityFile === undefined ? { hop } : { hop, identityFile };
}
