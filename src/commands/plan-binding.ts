/**
 * Binding a plan file to its approval: the sha256 the reviewer approved (`--plan-sha256`) and
 * OpenSSH signatures (`plan --sign KEY`, `apply --allowed-signers FILE`). Signatures are made and
 * checked by the local `ssh-keygen -Y` (OpenSSH's sshsig format, namespace `kubemend-plan`), run
 * with an argument vector and never through a shell: paths and principals are data. Every check
 * here runs before any node is contacted, so each refusal is exit 2.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import { UsageError } from '../errors.js';

/** The sshsig namespace of a kubemend plan: a signature made for anything else never approves one. */
export const PLAN_NAMESPACE = 'kubemend-plan';

/** Who signed the plan: the principal of the allowed signers file and the key that made the signature. */
export interface PlanSigner {
  principal: string;
  /** Key type and fingerprint as ssh-keygen prints them, e.g. `ED25519 SHA256:…`. */
  key: string;
}

export const planSha256 = (bytes: Buffer | string): string =>
  createHash('sha256').update(bytes).digest('hex');

const INSTALL_FIX =
  'install the OpenSSH client (apt-get install openssh-client, dnf install openssh-clients)';

/** Runs ssh-keygen with an argument vector; `input` goes to its stdin. A missing ssh-keygen is exit 2. */
function sshKeygen(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  why: string,
  input: Buffer | string = '',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh-keygen', [...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new UsageError(`${why} needs ssh-keygen (OpenSSH 8.3 or newer), and there is none on PATH`, [
              INSTALL_FIX,
            ])
          : e,
      ),
    );
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // ssh-keygen may exit before reading it all (a bad signature file): not our error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

const said = (stderr: string): string =>
  stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('Signing data on standard input'))
    .join('; ') || 'no message';

/** A local file that must be readable; otherwise exit 2 naming the option. */
function readable(path: string, what: string): void {
  let why: string | undefined;
  try {
    if (statSync(path).isFile()) accessSync(path, constants.R_OK);
    else why = 'not a regular file';
  } catch (e) {
    why = (e as NodeJS.ErrnoException).code ?? 'unreadable';
  }
  if (why) throw new UsageError(`cannot read ${what} ${path}: ${why}`);
}

/** `--plan-sha256`: the plan file's bytes must hash to the approved value. */
export function checkPlanSha256(file: string, bytes: Buffer, approved: string): void {
  const want = approved
    .trim()
    .toLowerCase()
    .replace(/^sha256:/, '');
  if (!/^[0-9a-f]{64}$/.test(want))
    throw new UsageError(`--plan-sha256 "${approved}" is not a sha256 (64 hexadecimal digits)`, [
      'give the sha256 the plan summary shows (kubemend plan -o markdown, or sha256sum FILE)',
    ]);
  const got = planSha256(bytes);
  if (got !== want)
    throw new UsageError(
      `plan ${file} has sha256 ${got}, not the approved ${want}: it is not the file that was approved; no node was contacted`,
      ['apply the approved file, or review the new one and approve its sha256'],
    );
}

/**
 * Checks the plan's signature against an OpenSSH allowed_signers file: ssh-keygen -Y find-principals
 * names the principals of the signing key, and -Y verify (the plan's bytes on stdin) proves the
 * signature for one of them, in the namespace kubemend-plan. Returns the signer; exit 2 otherwise.
 */
export async function verifyPlanSignature(
  file: string,
  bytes: Buffer,
  signature: string,
  allowedSigners: string,
  env: NodeJS.ProcessEnv,
): Promise<PlanSigner> {
  readable(allowedSigners, 'the allowed signers file');
  const signHint = `sign the reviewed plan with kubemend plan --out FILE --sign KEY, or ssh-keygen -Y sign -n ${PLAN_NAMESPACE} -f KEY ${file}`;
  if (!statSync(signature, { throwIfNoEntry: false })?.isFile())
    throw new UsageError(`plan ${file} is not signed: there is no signature ${signature}`, [signHint]);
  readable(signature, 'the plan signature');
  const why = '--allowed-signers';
  const found = await sshKeygen(['-Y', 'find-principals', '-s', signature, '-f', allowedSigners], env, why);
  const principals = found.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (found.code !== 0 || principals.length === 0)
    throw new UsageError(
      `plan ${file}: the signature ${signature} was not made by a key in ${allowedSigners} (ssh-keygen: ${said(found.stderr)})`,
      ['the plan must be signed by a key listed in the allowed signers file'],
    );
  let last = '';
  for (const principal of principals) {
    const r = await sshKeygen(
      ['-Y', 'verify', '-f', allowedSigners, '-I', principal, '-n', PLAN_NAMESPACE, '-s', signature],
      env,
      why,
      bytes,
    );
    const good = /^Good "[^"]*" signature for .* with (\S+) key (\S+)\s*$/m.exec(r.stdout);
    if (r.code === 0 && good) return { principal, key: `${good[1]} ${good[2]}` };
    last = said(r.stderr);
  }
  const namespace = /namespace/i.test(last)
    ? `: it was signed for another purpose than ${PLAN_NAMESPACE} (a signature's namespace must be ${PLAN_NAMESPACE})`
    : ': the plan is not the file that was signed (edited after signing?) or the key is not valid now';
  throw new UsageError(
    `plan ${file}: the signature ${signature} does not verify for ${principals.join(', ')}${namespace} (ssh-keygen: ${last}); no node was contacted`,
    [signHint],
  );
}

/** `plan --sign KEY`, before any node: ssh-keygen is there and KEY is a key; returns its fingerprint. */
export async function signingKey(key: string, env: NodeJS.ProcessEnv): Promise<string> {
  readable(key, '--sign key');
  const r = await sshKeygen(['-l', '-f', key], env, '--sign');
  const m = /^\d+ (\S+) .*\((\S+)\)\s*$/m.exec(r.stdout);
  if (r.code !== 0 || !m)
    throw new UsageError(
      `--sign ${key} is not an SSH key ssh-keygen can use (ssh-keygen: ${said(r.stderr)})`,
      ['give a private key, or the public key of a key held by ssh-agent'],
    );
  return `${m[2]} ${m[1]}`;
}

/**
 * Signs the plan's bytes with ssh-keygen -Y sign (namespace kubemend-plan); returns the armored
 * signature. ssh-agent is used when it holds the key; a passphrase is asked on the terminal.
 */
export async function signPlan(key: string, bytes: Buffer | string, env: NodeJS.ProcessEnv): Promise<string> {
  const r = await sshKeygen(['-Y', 'sign', '-f', key, '-n', PLAN_NAMESPACE], env, '--sign', bytes);
  if (r.code !== 0 || !r.stdout.includes('BEGIN SSH SIGNATURE'))
    throw new Error(`ssh-keygen -Y sign with ${key} failed: ${said(r.stderr)}`);
  return r.stdout;
}
