/**
 * What kubemend accepts as a user, a host and a port from an inventory or ~/.ssh/config, before
 * any of it reaches an ssh client. The patterns are strict on purpose: the system ssh turns a
 * ProxyJump into a ProxyCommand that /bin/sh runs, and a ProxyCommand in ~/.ssh/config pastes
 * %h and %r into shell text, so a value such as `x$(touch /tmp/pwned)@bastion` must be refused
 * by kubemend itself, not left to the local OpenSSH's own checks.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** POSIX-ish login names: letters, digits, . _ -, an optional trailing $ (Samba machine accounts); not starting with -. */
const USER = /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,127}\$?$/;

/** One DNS label (underscores allowed: internal names and cloud ids such as i-0abc… use them). */
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** An IPv6 zone (fe80::1%eth0). */
const ZONE = /^[A-Za-z0-9_.-]{1,64}$/;

export const USER_RULE = "letters, digits, '.', '_' and '-' (a trailing '$' too), not starting with '-'";
export const HOST_RULE =
  "a DNS name or ~/.ssh/config Host alias (letters, digits, '.', '-', '_'), an IPv4 address, or an IPv6 address";

/** Why this is not a user name kubemend passes on; undefined when it is one. */
export function userProblem(user: string): string | undefined {
  return USER.test(user) ? undefined : `'${user}' is not a user name (${USER_RULE})`;
}

/** An IPv6 address, with an optional zone. */
export function isIpv6Address(host: string): boolean {
  const [address = '', zone, ...more] = host.split('%');
  return more.length === 0 && isIPv6(address) && (zone === undefined || ZONE.test(zone));
}

/** Why this is not a host kubemend dials (or hands to ssh); undefined when it is one. */
export function hostProblem(host: string): string | undefined {
  const bad = `'${host}' is not a host name or address (${HOST_RULE})`;
  if (host.includes(':')) return isIpv6Address(host) ? undefined : bad;
  if (isIPv4(host)) return undefined;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  if (name.length === 0 || name.length > 253) return bad;
  return name.split('.').every((label) => LABEL.test(label)) ? undefined : bad;
}

/** Why this is not a TCP port; undefined when it is one. */
export function portProblem(port: number): string | undefined {
  return Number.isInteger(port) && port >= 1 && port <= 65535
    ? undefined
    : `port ${port} is not from 1 to 65535`;
}
