// Log lines in klog's text format, the format the real components write to the journal:
//   I1122 08:55:00.123456    1234 kubelet.go] "Started kubelet" key="value"
import fs from 'node:fs';
import process from 'node:process';

const pad = (n, width = 2) => String(n).padStart(width, '0');

function header(level, source) {
  const d = new Date();
  const date = `${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds() * 1000, 6)}`;
  return `${level}${date} ${time} ${String(process.pid).padStart(7)} ${source}]`;
}

function pairs(fields) {
  return Object.entries(fields)
    .map(([key, value]) => ` ${key}=${JSON.stringify(value instanceof Error ? value.message : value)}`)
    .join('');
}

/** @param {string} source what klog prints as file:line */
export function makeLogger(source) {
  const write = (level, msg, fields = {}) =>
    process.stderr.write(`${header(level, source)} ${JSON.stringify(msg)}${pairs(fields)}\n`);
  return {
    info: (msg, fields) => write('I', msg, fields),
    error: (msg, fields) => write('E', msg, fields),
  };
}

/**
 * Ends the process the way the real binaries do when their command fails: one error line, exit 1.
 * Writes to stderr are synchronous for files and pipes, so the line is out before the exit.
 */
export function exitWithError(log, err) {
  log.error('command failed', { err: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}

/**
 * Names the process the way `pgrep -x`, `ps -C` and /proc/PID/comm see it. Setting
 * process.title would do it too, but it overwrites argv in /proc/PID/cmdline, which must keep the
 * flags exactly as given.
 */
export function setProcessName(name) {
  fs.writeFileSync('/proc/self/comm', name);
}
