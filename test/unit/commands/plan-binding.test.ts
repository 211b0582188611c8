import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkPlanSha256,
  planSha256,
  signingKey,
  signPlan,
  verifyPlanSignature,
} from '../../../src/commands/plan-binding.js';
import { UsageError } from '../../../src/errors.js';

// Real OpenSSH: keys made here with ssh-keygen, signatures checked by the same ssh-keygen kubemend runs.
const dir = mkdtempSync(join(tmpdir(), 'kubemend-plan-binding-'));
const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
const keygen = (...args: string[]) => execFileSync('ssh-keygen', args, { env, stdio: 'pipe' }).toString();
const p = (name: string) => join(dir, name);
const planBytes = Buffer.from('{\n  "version": 1,\n  "nodes": []\n}\n');
const fingerprint = (key: string) => /^\d+ (\S+) .*\((\S+)\)$/m.exec(keygen('-l', '-f', key))!;

/** The UsageError a promise (or a function) ends with; fails when it ends otherwise. */
async function refusal(run: () => unknown): Promise<UsageError> {
  try {
    await run();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error('expected a refusal, got none');
}

beforeAll(() => {
  for (const who of ['alice', 'bob']) keygen('-q', '-t', 'ed25519', '-N', '', '-C', who, '-f', p(who));
  const pub = (who: string) =>
    readFileSync(p(`${who}.pub`), 'utf8')
      .split(' ')
      .slice(0, 2)
      .join(' ');
  writeFileSync(p('allowed_signers'), `# approvers\nalice@example.com ${pub('alice')}\n`);
  writeFileSync(p('bob_signers'), `bob@example.com ${pub('bob')}\n`);
  writeFileSync(p('change.plan.json'), planBytes);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a plan signed with an OpenSSH key (sshsig, namespace kubemend-plan)', () => {
  it('plan --sign signs the bytes; apply --allowed-signers names the principal and the key', async () => {
    writeFileSync(p('change.plan.json.sig'), await signPlan(p('alice'), planBytes, env));
    const signer = await verifyPlanSignature(
      p('change.plan.json'),
      planBytes,
      p('change.plan.json.sig'),
      p('allowed_signers'),
      env,
    );
    const fp = fingerprint(p('alice'));
    expect(signer).toEqual({ principal: 'alice@example.com', key: `${fp[2]} ${fp[1]}` });
    expect(await signingKey(p('alice'), env)).toBe(signer.key);
  });

  it("accepts the user's own `ssh-keygen -Y sign -n kubemend-plan -f KEY FILE`", async () => {
    const file = p('by-hand.plan.json');
    writeFileSync(file, planBytes);
    keygen('-Y', 'sign', '-n', 'kubemend-plan', '-f', p('alice'), file);
    const signer = await verifyPlanSignature(file, planBytes, `${file}.sig`, p('allowed_signers'), env);
    expect(signer.principal).toBe('alice@example.com');
  });

  it('refuses an edited plan: one byte more than what was signed', async () => {
    const sig = p('edited.sig');
    writeFileSync(sig, await signPlan(p('alice'), planBytes, env));
    const edited = Buffer.concat([planBytes, Buffer.from(' ')]);
    const e = await refusal(() => verifyPlanSignature('edited.json', edited, sig, p('allowed_signers'), env));
    expect(e.message).toContain('does not verify for alice@example.com');
    expect(e.message).toContain('the plan is not the file that was signed');
    expect(e.message).toContain('no node was contacted');
  });

  it('refuses an unsigned plan, naming the signature it looked for and how to sign', async () => {
    const e = await refusal(() =>
      verifyPlanSignature('u.json', planBytes, p('u.json.sig'), p('allowed_signers'), env),
    );
    expect(e.message).toBe(`plan u.json is not signed: there is no signature ${p('u.json.sig')}`);
    expect(e.details.join('\n')).toContain('ssh-keygen -Y sign -n kubemend-plan -f KEY u.json');
  });

  it('refuses a signature by a key that is not in the allowed signers file', async () => {
    const sig = p('bob.sig');
    writeFileSync(sig, await signPlan(p('bob'), planBytes, env));
    const e = await refusal(() => verifyPlanSignature('b.json', planBytes, sig, p('allowed_signers'), env));
    expect(e.message).toContain(`was not made by a key in ${p('allowed_signers')}`);
    // The same signature passes against the file that lists bob: the refusal is about who signed.
    expect((await verifyPlanSignature('b.json', planBytes, sig, p('bob_signers'), env)).principal).toBe(
      'bob@example.com',
    );
  });

  it('refuses a signature made for another namespace (a `file` signature is not an approval)', async () => {
    const sig = p('ns.sig');
    writeFileSync(
      sig,
      execFileSync('ssh-keygen', ['-Y', 'sign', '-f', p('alice'), '-n', 'file'], {
        env,
        input: planBytes,
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
    );
    const e = await refusal(() => verifyPlanSignature('n.json', planBytes, sig, p('allowed_signers'), env));
    expect(e.message).toContain('it was signed for another purpose than kubemend-plan');
  });

  it('without ssh-keygen on PATH: exit 2 with the package to install', async () => {
    const e = await refusal(() =>
      verifyPlanSignature('x.json', planBytes, p('change.plan.json.sig'), p('allowed_signers'), {
        PATH: dir,
      }),
    );
    expect(e.message).toContain('needs ssh-keygen (OpenSSH 8.3 or newer), and there is none on PATH');
    expect(e.details.join('\n')).toContain('apt-get install openssh-client');
  });

  it('--sign with a file that is not a key, or no file at all: refused before anything else', async () => {
    writeFileSync(p('notakey'), 'hello\n');
    expect((await refusal(() => signingKey(p('notakey'), env))).message).toContain(
      'is not an SSH key ssh-keygen can use',
    );
    expect((await refusal(() => signingKey(p('missing'), env))).message).toBe(
      `cannot read --sign key ${p('missing')}: ENOENT`,
    );
  });
});

describe('--plan-sha256: the hash the reviewer approved', () => {
  const hash = planSha256(planBytes);

  it('is the sha256 of the file bytes, as sha256sum prints it, in either case', () => {
    expect(
      execFileSync('sha256sum', [p('change.plan.json')])
        .toString()
        .split(' ')[0],
    ).toBe(hash);
    expect(() => checkPlanSha256('c.json', planBytes, hash)).not.toThrow();
    expect(() => checkPlanSha256('c.json', planBytes, hash.toUpperCase())).not.toThrow();
  });

  it('refuses any other file, naming both hashes; refuses a value that is not a sha256', async () => {
    const other = Buffer.concat([planBytes, Buffer.from('\n')]);
    const e = await refusal(() => checkPlanSha256('c.json', other, hash));
    expect(e.message).toBe(
      `plan c.json has sha256 ${planSha256(other)}, not the approved ${hash}: it is not the file that was approved; no node was contacted`,
    );
    expect((await refusal(() => checkPlanSha256('c.json', planBytes, 'abc'))).message).toContain(
      'is not a sha256 (64 hexadecimal digits)',
    );
  });
});
