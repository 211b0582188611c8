import { Command, CommanderError } from 'commander';
// Commands are imported when they run: `kubemend --help` should not load SSH, YAML and prompts.
import { silentIo, type Io } from './commands/io.js';
import { applyOptions, backupsOptions, planOptions, rollbackOptions } from './commands/command-options.js';
import { addCommonOptions, commonOptions, positiveInt } from './commands/options.js';
import { ExitCode, NodeError, UsageError } from './errors.js';
import { makeColors } from './report/colors.js';
import { errorLine } from './report/error-line.js';
import { visibleLines } from './report/visible.js';
import { VERSION } from './version.js';

const EXIT_CODES_HELP = `
Exit codes:
  0  audit: every control passed or was skipped; plan: nothing to change; apply: all applied and healthy
  1  audit: a control failed; plan: changes planned or blocked; apply: a node rolled back, blocked or skipped
  2  usage or input error before any node was touched
  3  a node could not be read or changed (unreachable, authentication, host key, sudo, permission)
  4  apply refused a node because the plan is stale
  70 internal error (a bug in kubemend)
  130 cancelled (Ctrl-C, or no/abort at a prompt); the output says what was done before`;

/** Builds the command tree. Each action stores its exit code; nothing here calls process.exit. */
export function buildProgram(io: Io, setExit: (code: ExitCode) => void): Command {
  const program = new Command('kubemend')
    .description(
      'Audit and mend two CIS controls on Kubernetes nodes over SSH: apiserver-kubelet-client-cert (CIS Kubernetes 1.2.5/1.2.4: the kube-apiserver authenticates to kubelets) and kubelet-client-ca (CIS EKS 3.2.3, CIS Kubernetes 4.2.3: the kubelet verifies its callers). Without a command, on a terminal: an interactive session.',
    )
    .version(`kubemend ${VERSION}`, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride()
    .addHelpText('after', EXIT_CODES_HELP);
  addCommonOptions(program);
  // No command: the interactive session, with the common options given (`kubemend -i inv.yaml`).
  program.allowExcessArguments(true).action(async (_local: unknown, cmd: Command) => {
    const [word] = cmd.args;
    if (word !== undefined) {
      const names = cmd.commands.map((c) => c.name());
      throw new UsageError(`unknown command '${word}'`, [`the commands are ${names.join(', ')}`]);
    }
    if (!io.stdinIsTTY || !io.stdout.isTTY) {
      io.stderr.write(program.helpInformation());
      io.stderr.write(
        '\nkubemend with no command starts an interactive session, which needs a terminal; give a command instead.\n',
      );
      setExit(ExitCode.usage);
      return;
    }
    setExit(await (await import('./commands/session.js')).runSession(commonOptions(cmd.opts()), io));
  });

  program
    .command('audit')
    .summary('read-only audit of both controls on every selected node')
    .description(
      'Connects to each node over SSH, gathers its facts with one read-only command (nothing is written on ' +
        "the node, not even a temp file) and checks both controls: the running processes, the kubelet's " +
        'effective config (flags > --config-dir drop-ins > --config file) and the files they point at.',
    )
    .addHelpText(
      'after',
      `
Examples:
  kubemend audit                                  # every node in ./inventory.yaml
  kubemend audit -i hosts.yaml -l 'prod,!cp-3'    # an Ansible inventory, group prod without cp-3
  kubemend audit --controls cis-eks-3.2.3 -o json # one control, machine-readable
  kubemend audit -o junit > kubemend.xml          # for a CI test report
${EXIT_CODES_HELP}`,
    )
    .action(async (_local: unknown, cmd: Command) => {
      setExit(await (await import('./commands/audit.js')).runAudit(commonOptions(cmd.optsWithGlobals()), io));
    });

  program
    .command('plan')
    .summary('read-only: the exact edits that would fix each node, as diffs and a reviewable plan file')
    .description(
      'Audits each node, then computes the minimal, format-preserving edit that fixes each failing control in ' +
        'the layer of configuration that wins (a flag where it is set, a --config-dir drop-in, the --config file, ' +
        'the kube-apiserver manifest). Every file the fix points at is checked first (exists, parses, the cert ' +
        'and key match, client-auth usage, validity, CA cross-check); otherwise the node is "blocked", with the ' +
        'reason and the way out. Nothing is written on any node.',
    )
    .option('--out <file>', 'write the plan file for `kubemend apply --plan`')
    .option('--diff <file>', 'write one patch for all nodes (paths prefixed by the node name)')
    .option(
      '--sign <key>',
      'with --out: sign the plan file with this SSH key (OpenSSH sshsig, namespace kubemend-plan) into FILE.sig; a public key works when ssh-agent holds its private key',
    )
    .option(
      '--issue-certs',
      "where the kube-apiserver's kubelet client cert and key are both missing and the cluster CA key is on the node (kubeadm, kubespray), plan a new pair signed on the node (clientAuth, one year); keys never leave the node",
    )
    .addHelpText(
      'after',
      `
Examples:
  kubemend plan                                          # diffs on the terminal
  kubemend plan --out change.plan.json --diff change.patch -o markdown > change.md
                                                         # a plan, a patch and a summary for a change ticket
  kubemend plan -l cp-1 -p kubespray                     # one node, a chosen playbook
  kubemend plan --out change.plan.json --sign ~/.ssh/id_ed25519
                                                         # a plan signed for apply --allowed-signers
Exit codes: 0 nothing to change, 1 changes planned or blocked, 2 usage, 3 a node could not be read.`,
    )
    .action(async (_local: unknown, cmd: Command) => {
      setExit(await (await import('./commands/plan.js')).runPlan(planOptions(cmd.optsWithGlobals()), io));
    });

  program
    .command('apply')
    .summary('apply the plan: backup, atomic write, restart, health gate, re-audit; roll back on failure')
    .description(
      "Applies each node's changes, control-plane nodes first and one at a time, then the others in batches of " +
        '--serial. On each node: lock, preflight again, back up every file under /var/lib/kubemend/backups/<run>/, ' +
        'write atomically (dot-file, fsync, rename), restart (kubelet: new PID, healthz, stays up; kube-apiserver: ' +
        'a new process with the new flags and /livez ok), re-audit. Any failed step restores the backup, restarts ' +
        'and waits for health again. On a terminal each node is confirmed; without one, --yes is required.',
    )
    .option(
      '--plan <file>',
      'apply exactly this saved plan (a node whose files changed since is refused, exit 4)',
    )
    .option(
      '--plan-sha256 <hex>',
      'with --plan: the sha256 the reviewer approved; a plan file with another hash is refused before any node is contacted (exit 2)',
    )
    .option(
      '--allowed-signers <file>',
      'with --plan: an OpenSSH allowed_signers file; the plan must carry a valid signature (namespace kubemend-plan) by a principal in it, checked before any node is contacted (exit 2)',
    )
    .option(
      '--plan-signature <file>',
      "the plan's signature, for --allowed-signers (default: the plan file + .sig)",
    )
    .option('-y, --yes', 'no prompts: apply every planned node (required without a terminal)')
    .option(
      '--serial <n>',
      "worker nodes changed at once (control planes are always one at a time; default: the smallest rollout.serial of the nodes' playbooks, 1 in the built-in ones)",
      positiveInt('--serial'),
    )
    .option('--keep-going', 'continue past a node that was rolled back or refused')
    .option('--not-after <time>', 'start no node after this time (HH:MM today, or an ISO date-time)')
    .addHelpText(
      'after',
      `
Examples:
  kubemend apply                                        # plan now, confirm each node on the terminal
  kubemend apply --plan change.plan.json --yes --not-after 05:30
                                                        # a reviewed plan, unattended, in a maintenance window
  kubemend apply --plan change.plan.json --plan-sha256 HEX --yes
                                                        # only the plan file whose sha256 was approved
  kubemend apply --plan change.plan.json --allowed-signers ./allowed_signers --yes
                                                        # only a plan signed by an approver
  kubemend apply -l workers --serial 5 --keep-going --yes
Exit codes: 0 all applied and healthy, 1 a node rolled back, blocked or skipped, 2 usage (also: no terminal
and no --yes; also a plan file refused by --plan-sha256 or --allowed-signers), 3 a node could not be reached
or changed, 4 a node refused because the plan is stale.`,
    )
    .action(async (_local: unknown, cmd: Command) => {
      setExit(await (await import('./commands/apply.js')).runApply(applyOptions(cmd.optsWithGlobals()), io));
    });

  program
    .command('rollback')
    .summary('restore a node to one of its backups, restart and wait for health')
    .requiredOption('--node <name>', 'the node to roll back')
    .option('--backup <id>', 'the backup (run id) to restore; default: the newest (see kubemend backups)')
    .option('-y, --yes', 'no prompt (required without a terminal)')
    .addHelpText(
      'after',
      '\nExample:\n  kubemend rollback --node cp-1 --backup 20261122T031500-1a2b3c --yes\n',
    )
    .action(async (_local: unknown, cmd: Command) => {
      setExit(
        await (
          await import('./commands/rollback.js')
        ).runRollback(rollbackOptions(cmd.optsWithGlobals()), io),
      );
    });

  program
    .command('backups')
    .summary('list the backups kubemend keeps on a node')
    .requiredOption('--node <name>', 'the node')
    .addHelpText('after', '\nExample:\n  kubemend backups --node cp-1 -o json\n')
    .action(async (_local: unknown, cmd: Command) => {
      setExit(
        await (await import('./commands/backups.js')).runBackups(backupsOptions(cmd.optsWithGlobals()), io),
      );
    });

  return program;
}

/** Runs the CLI and returns the exit code; every error ends up as a message and a code here. */
export async function main(argv: readonly string[], io: Io): Promise<ExitCode> {
  let code: ExitCode = ExitCode.ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; a bad flag has already been printed by commander.
      return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    return await reportError(e, io);
  }
}

/**
 * An error's text as lines under `kubemend:`. Messages carry node and file text (a node's stderr, a
 * path, a plan's field): control characters are shown escaped, and a line of the message's own is
 * indented, so none can pass for a line kubemend wrote.
 */
const said = (text: string) => visibleLines(text).replaceAll('\n', '\n  ');

/**
 * Turns any error into a message on stderr and its exit code; which kind of failure it was, and so
 * its code, is decided by apply/outcome.ts, as for every node's outcome (loaded here, not for --help).
 */
async function reportError(e: unknown, io: Io): Promise<ExitCode> {
  const { errorExit, failedNode, failureKind } = await import('./apply/outcome.js');
  const node = failedNode(e);
  if (e instanceof UsageError)
    io.stderr.write(`kubemend: ${said(e.message)}\n${e.details.map((d) => `  ${said(d)}\n`).join('')}`);
  // rollback and backups work on one node: its connection or a failed step ends the command, named.
  else if (node !== undefined && e instanceof Error)
    io.stderr.write(
      errorLine(node, e.message, makeColors(false), e instanceof NodeError ? e.fix : undefined),
    );
  else if (failureKind(e) !== 'bug' && e instanceof Error) io.stderr.write(`kubemend: ${said(e.message)}\n`);
  else {
    const err = e instanceof Error ? e : new Error(String(e));
    io.stderr.write(
      `kubemend: internal error: ${said(err.stack ?? String(err))}\nThis is a bug in kubemend; please report it with the command line you ran.\n`,
    );
  }
  return errorExit(e);
}

/**
 * The command word of an argument list (`kubemend -i inv.yaml apply …` → "apply"), or undefined for
 * the session. Skips the values of options that take one, whatever the options are.
 */
export function commandWord(argv: readonly string[]): string | undefined {
  const program = buildProgram(silentIo(), () => undefined);
  const takesValue = new Set(
    program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.short, o.long].filter(Boolean)),
  );
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    if (a === '--') return argv[k + 1];
    if (!a.startsWith('-')) return a;
    if (takesValue.has(a)) k++;
  }
  return undefined;
}
