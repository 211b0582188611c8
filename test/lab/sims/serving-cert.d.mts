/** Writes `<dir>/<base>.crt` and `<dir>/<base>.key` (mode 0600 for the key) for `host`. */
export function writeSelfSigned(
  dir: string,
  base: string,
  host: string,
): { certFile: string; keyFile: string };
