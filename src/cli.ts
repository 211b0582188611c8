import { Command, CommanderError } from 'commander';
import { runAudit } from './commands/audit.js';
import { runPlan } from './commands/plan.js';
import type { Io } from './commands/io.js';
import { addCommonOptions, commonOptions } from './commands/options.js';
import { ExitCode, InternalError, NodeError, UsageError } from './errors.js';
import { VERSION } from './version.js';

const EXIT_CODES_HELP = `
Exit codes:
  0  audit: every control passed or was skipped; plan: nothing to change; apply: all applied and healthy
  1  audit: a control failed; plan: changes planned or blocked; apply: a node rolled back, blocked or skipped
  2  usage or input error before any node was touched
  3  a node could not be read or changed (unreachable, authentication, host key, sudo, permission)
  4  apply refused a node because the plan is stale`;

/** Builds the command tree. Each action stores its exit code; nothing here calls process.exit. */
export function buildProgram(io: Io, setExit: (code: ExitCode) => void): Command {
  const program = new Command('kubemend')
    .description(
      'Audit and mend two CIS controls on Kubernetes nodes over SSH:\n' +
        '  apiserver-kubelet-client-cert (CIS Kubernetes 1.2.5/1.2.4): kube-apiserver authenticates to kubelets\n' +
        '  kubelet-client-ca (CIS EKS 3.2.3, CIS Kubernetes 4.2.3): the kubelet verifies its callers',
    )
    .version(`kubemend ${VERSION}`, '--version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride()
    .addHelpText('after', EXIT_CODES_HELP);

  addCommonOptions(
    program
      .command('audit')
      .summary('read-only audit of both controls on every selected node')
      .description(
        'Connects to each node over SSH, gathers its facts with one read-only command (nothing is written on\n' +
          "the node, not even a temp file) and checks both controls: the running processes, the kubelet's\n" +
          'effective config (flags > --config-dir drop-ins > --config file) and the files they point at.',
      ),
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
    .action(async (raw: Record<string, unknown>) => {
      setExit(await runAudit(commonOptions(raw), io));
    });

  addCommonOptions(
    program
      .command('plan')
      .summary('read-only: the exact edits that would fix each node, as diffs and a reviewable plan file')
      .description(
        'Audits each node, then computes the minimal, format-preserving edit that fixes each failing control in\n' +
          'the layer of configuration that wins (a flag where it is set, a --config-dir drop-in, the --config file,\n' +
          'the kube-apiserver manifest). Every file the fix points at is checked first (exists, parses, the cert\n' +
          'and key match, client-auth usage, validity, CA cross-check); otherwise the node is "blocked", with the\n' +
          'reason and the way out. Nothing is written on any node.',
      )
      .option('--out <file>', 'write the plan file for `kubemend apply --plan`')
      .option('--diff <file>', 'write one patch for all nodes (paths prefixed by the node name)'),
  )
    .addHelpText(
      'after',
      `
Examples:
  kubemend plan                                          # diffs on the terminal
  kubemend plan --out change.plan.json --diff change.patch -o markdown > change.md
                                                         # a plan, a patch and a summary for a change ticket
  kubemend plan -l cp-1 -p kubespray                     # one node, a chosen playbook
Exit codes: 0 nothing to change, 1 changes planned or blocked, 2 usage, 3 a node could not be read.`,
    )
    .action(async (raw: Record<string, unknown>) => {
      setExit(
        await runPlan(
          {
            ...commonOptions(raw),
            ...(raw['out'] ? { out: raw['out'] as string } : {}),
            ...(raw['diff'] ? { diff: raw['diff'] as string } : {}),
          },
          io,
        ),
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
  if (argv.length === 0) {
    io.stderr.write(program.helpInformation());
    io.stderr.write(
      '\nkubemend: give a command, e.g. kubemend audit -i inventory.yaml (the interactive session is not available yet)\n',
    );
    return ExitCode.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit 0; a bad flag has already been printed by commander.
      return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (e instanceof UsageError) {
      io.stderr.write(`kubemend: ${e.message}\n${e.details.map((d) => `  ${d}\n`).join('')}`);
      return ExitCode.usage;
    }
    if (e instanceof NodeError) {
      io.stderr.write(`kubemend: ${e.message}${e.fix ? `\n  fix: ${e.fix}` : ''}\n`);
      return ExitCode.unreachable;
    }
    const err = e instanceof InternalError ? e : (e as Error);
    io.stderr.write(
      `kubemend: internal error: ${err.stack ?? String(err)}\nThis is a bug in kubemend; please report it with the command line you ran.\n`,
    );
    return ExitCode.usage;
  }
}
