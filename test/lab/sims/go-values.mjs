// Values and error texts as the Go binaries produce them, so the simulators' flags and messages
// read like the real kubelet's and kube-apiserver's.

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** strconv.ParseBool, worded as pflag reports a bad value. */
export function parseGoBool(flag, value) {
  if (GO_TRUE.has(value)) return true;
  if (GO_FALSE.has(value)) return false;
  throw new Error(
    `invalid argument "${value}" for "--${flag}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`,
  );
}

/** strconv.ParseInt for int32 flags such as --port. */
export function parseGoInt(flag, value) {
  if (!/^[+-]?\d+$/.test(value)) {
    throw new Error(
      `invalid argument "${value}" for "--${flag}" flag: strconv.ParseInt: parsing "${value}": invalid syntax`,
    );
  }
  return Number(value);
}

const DURATION_UNITS = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** time.ParseDuration ("20s", "2m0s", "1.5h", "0"), in milliseconds. */
export function parseGoDuration(text) {
  const invalid = () => new Error(`time: invalid duration "${text}"`);
  if (typeof text !== 'string') throw invalid();
  const match = /^([+-]?)(.*)$/.exec(text);
  const body = match[2];
  if (body === '0') return 0;
  const parts = [...body.matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h)/g)];
  if (body === '' || parts.map((p) => p[0]).join('') !== body) throw invalid();
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS[p[2]], 0);
  return match[1] === '-' ? -ms : ms;
}

const ERRNO_TEXT = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
};

/** The syscall part of a Go file error: "no such file or directory". */
export const goErrnoText = (err) => ERRNO_TEXT[err.code] ?? err.message;

/** The text Go's os.ReadFile gives for a failed read: "open <path>: no such file or directory". */
export function goFileError(path, err) {
  // Go opens a directory without error and fails on the read.
  return `${err.code === 'EISDIR' ? 'read' : 'open'} ${path}: ${goErrnoText(err)}`;
}
