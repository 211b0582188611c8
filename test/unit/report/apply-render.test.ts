import { describe, expect, it } from 'vitest';
import { commandLine } from '../../../src/commands/rerun.js';
import { commonOptions } from '../../../src/commands/options.js';
import { renderApplySummary, type ApplySummary } from '../../../src/report/apply-render.js';
import { makeColors } from '../../../src/report/colors.js';

const c = makeColors(false);
const opts = commonOptions({
  inventory: 'lab dir/inventory.yaml',
  knownHosts: '/tmp/kh',
  journal: '/tmp/j.jsonl',
});
const cmd = commandLine(opts);

const summary: ApplySummary = {
  runId: '20261122T030000-abc123',
  journal: '/tmp/j.jsonl',
  outcomes: [
    {
      node: 'cp-1',
      status: 'applied',
      backup: '/var/lib/kubemend/backups/20261122T030000-abc123',
    },
    {
      node: 'w-1',
      status: 'rolled-back',
      reason: 'the kubelet did not come back',
      evidence: ['kubelet: bad config'],
    },
    { node: 'w-2', status: 'skipped', reason: 'skipped at the prompt' },
    { node: 'w-3', status: 'blocked', reason: 'kubelet-client-ca: the CA file is missing' },
  ],
  leftFindings: [{ node: 'cp-1', control: 'kubelet-client-ca' }],
};

describe('the end screen of an apply', () => {
  it('prints an undo that carries -i, --known-hosts and --journal, shell-quoted, and says the backup is on the node', () => {
    const out = renderApplySummary(summary, c, { cmd });
    expect(out).toContain(
      "undo: kubemend rollback -i 'lab dir/inventory.yaml' --known-hosts /tmp/kh --journal /tmp/j.jsonl --node cp-1 --backup 20261122T030000-abc123",
    );
    expect(out).toContain('cp-1: /var/lib/kubemend/backups/20261122T030000-abc123 on cp-1');
    expect(out).toContain('Backups (on the node)');
  });

  it('prints each result once, and not at all for the nodes the live board already showed', () => {
    const once = renderApplySummary(summary, c, { cmd });
    expect(once.match(/cp-1: applied/g)).toHaveLength(1);
    expect(once.match(/w-2/g)).toHaveLength(2); // its line under "Left as it was", and its command
    const shown = renderApplySummary(summary, c, { cmd, resultsShown: new Set(['cp-1', 'w-1']) });
    expect(shown).not.toContain('cp-1: applied');
    expect(shown).not.toContain('w-1: rolled back');
    expect(shown).toContain('kubelet: bad config'); // the evidence is not on the board
  });

  it('lists what was left, each with the command that would take it up later', () => {
    const out = renderApplySummary(summary, c, { cmd });
    const left = out.slice(out.indexOf('Left as it was:'));
    expect(left).toContain('cp-1: kubelet-client-ca: unticked, not changed');
    expect(left).toContain(
      "later: kubemend apply -i 'lab dir/inventory.yaml' --known-hosts /tmp/kh --journal /tmp/j.jsonl -l cp-1 --controls kubelet-client-ca",
    );
    expect(left).toContain('w-2: not changed: skipped at the prompt');
    expect(left).toContain('w-3: blocked, not changed: kubelet-client-ca: the CA file is missing');
    expect(left).toMatch(/later: kubemend plan .* -l w-3/);
    const fromPlan = renderApplySummary({ ...summary, plan: 'change.plan.json' }, c, { cmd });
    expect(fromPlan).toMatch(/later: kubemend apply .* --plan change\.plan\.json -l w-2/);
  });

  it('names the plan that ran, its sha256 and signer; the commands for later keep the same pins', () => {
    const out = renderApplySummary(
      {
        ...summary,
        plan: 'change.plan.json',
        approval: {
          sha256: 'ab'.repeat(32),
          signer: { principal: 'alice@example.com', key: 'ED25519 SHA256:abc' },
          pins: ['--allowed-signers', 'allowed signers'],
        },
      },
      c,
      { cmd },
    );
    expect(out).toContain(
      `plan change.plan.json, sha256 ${'ab'.repeat(32)}, signed by alice@example.com (ED25519 SHA256:abc)`,
    );
    expect(out).toMatch(
      /later: kubemend apply .* --plan change\.plan\.json --allowed-signers 'allowed signers' -l w-2/,
    );
  });

  it('after a refusal, later: never writes a new plan over the reviewed plan file', () => {
    const refused = {
      ...summary,
      outcomes: [
        {
          node: 'w-4',
          status: 'stale',
          reason: '/var/lib/kubelet/config.yaml changed since the plan was made',
        },
        { node: 'w-5', status: 'blocked', reason: 'preflight: the plan file says layout = "generic"' },
      ],
    };
    for (const plan of ['change.plan.json', 'new.plan.json', 'ticket/new.plan.json']) {
      const out = renderApplySummary({ ...refused, plan }, c, { cmd });
      const laters = out.split('\n').filter((l) => l.includes('later: kubemend plan'));
      expect(laters).toHaveLength(2);
      for (const l of laters) {
        expect(l).toMatch(/--out \S+\.plan\.json$/);
        expect(l.endsWith(` ${plan}`)).toBe(false);
      }
    }
  });

  it('says the rollout stopped only when told so; nothing is left on a clean run', () => {
    const clean = renderApplySummary(
      { ...summary, outcomes: summary.outcomes.slice(0, 1), leftFindings: [] },
      c,
      { cmd },
    );
    expect(clean).not.toContain('Left as it was');
    expect(clean).not.toMatch(/stopped/);
  });
});

describe('commands printed for the user', () => {
  it('leave out options that are at their defaults, and carry the playbook and controls where they judge nodes', () => {
    expect(commandLine(commonOptions({}))('rollback', '--node', 'cp-1')).toBe(
      'kubemend rollback --node cp-1',
    );
    const narrowed = commandLine(
      commonOptions({ controls: 'cis-eks-3.2.3', playbook: 'my pb.yaml', connectTimeout: 3 }),
    );
    expect(narrowed('plan', '-l', 'w-1')).toBe(
      "kubemend plan --connect-timeout 3 -p 'my pb.yaml' --controls kubelet-client-ca -l w-1",
    );
    expect(narrowed('backups', '--node', 'w-1')).toBe('kubemend backups --connect-timeout 3 --node w-1');
    expect(narrowed('', '--accept-new-host-keys')).toBe(
      'kubemend --connect-timeout 3 --accept-new-host-keys',
    );
  });

  it('carry the cluster the nodes came from (--kubeconfig, --context, --node-address): the undo finds its node there', () => {
    const cmd = commandLine(
      commonOptions({ kubeconfig: 'eks prod.yaml', context: 'prod', nodeAddress: 'provider-id' }),
    );
    expect(cmd('rollback', '--node', 'i-0abc', '--backup', 'ID')).toBe(
      "kubemend rollback --kubeconfig 'eks prod.yaml' --context prod --node-address provider-id --node i-0abc --backup ID",
    );
  });

  it('carry --apiserver-kubelet-cert where nodes are judged again (the fleet check needs it)', () => {
    const cmd = commandLine(commonOptions({ apiserverKubeletCert: 'certs/apiserver kubelet.crt' }));
    expect(cmd('plan', '-l', 'w-1')).toBe(
      "kubemend plan --apiserver-kubelet-cert 'certs/apiserver kubelet.crt' -l w-1",
    );
    expect(cmd('rollback', '--node', 'w-1')).toBe('kubemend rollback --node w-1');
  });
});
