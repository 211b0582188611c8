// The lab's command line: npm run lab -- up|down|reboot|status|inventory [--name N] [--nodes a,b]
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ALL_NODES } from './layouts.js';
import { downLab, labStatus, listLabs, openLab, rebootNode, upLab } from './lab.js';
import { LabUnavailableError, labProblems } from './preflight.js';
import type { LabAction } from './preflight.js';

const USAGE = `usage: npm run lab -- <command> [options]
  up         [--name N] [--nodes a,b,c] [--keep-on-failure]   boot a lab (default: every layout)
  down       [--name N]                                       remove everything the lab created
  reboot     [--name N] --nodes a,b                           power the nodes off cleanly and boot them again
  status     [--name N]                                       containers and sshd per node
  inventory  [--name N]                                       print the kubemend inventory
nodes: ${ALL_NODES.map((n) => n.name).join(', ')}
(and copies of any of them: NAME-x2 … NAME-x12, for benchmarks)`;

const log = (line: string) => console.log(`[lab] ${line}`);

function requireLab(action: LabAction): void {
  const problems = labProblems(action);
  if (problems.length > 0) throw new LabUnavailableError(problems);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string', default: 'default' },
      nodes: { type: 'string' },
      'keep-on-failure': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const name = values.name;
  switch (command) {
    case 'up': {
      requireLab('up');
      const controller = new AbortController();
      // First Ctrl-C: stop and tear down what exists; a second one (a second later: tsx relays
      // the terminal's SIGINT, so one Ctrl-C can arrive twice) abandons the teardown.
      let interruptedAt = 0;
      process.on('SIGINT', () => {
        if (interruptedAt === 0) {
          interruptedAt = Date.now();
          log('interrupted: tearing down (Ctrl-C again to abandon; then run `down`)');
          controller.abort(new Error('interrupted'));
        } else if (Date.now() - interruptedAt > 1000) process.exit(130);
      });
      const lab = await upLab({
        name,
        ...(values.nodes && {
          nodes: values.nodes
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        }),
        keepOnFailure: values['keep-on-failure'],
        signal: controller.signal,
        log,
      });
      console.log(`inventory: ${lab.inventoryPath}`);
      const width = Math.max(...lab.nodes.map((n) => n.name.length));
      for (const n of lab.nodes) console.log(`  ${n.name.padEnd(width)}  ${n.host.padEnd(12)}  ${n.layout}`);
      return 0;
    }
    case 'down': {
      requireLab('down');
      if (!(await downLab(name, { log }))) log(`no lab named "${name}" (nothing to do)`);
      return 0;
    }
    case 'reboot': {
      requireLab('up');
      const nodes = (values.nodes ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (nodes.length === 0) {
        console.error(`reboot needs --nodes a,b\n${USAGE}`);
        return 2;
      }
      for (const node of nodes) await rebootNode(name, node, { log });
      return 0;
    }
    case 'status': {
      requireLab('status');
      const status = await labStatus(name);
      if (!status) {
        const labs = listLabs();
        console.log(`no lab named "${name}"${labs.length ? `; labs: ${labs.join(', ')}` : ''}`);
        return 1;
      }
      console.log(`lab ${name}: ${status.info.dir}${status.upInProgress ? ' (up in progress)' : ''}`);
      for (const n of status.nodes)
        console.log(
          `  ${n.name.padEnd(22)} ${n.host.padEnd(12)} ${n.container.padEnd(8)} ssh:${n.ssh ? 'up' : 'down'}  ${n.layout}`,
        );
      return status.nodes.every((n) => n.ssh) ? 0 : 1;
    }
    case 'inventory': {
      const lab = openLab(name);
      if (!lab) {
        console.error(`no lab named "${name}"`);
        return 1;
      }
      console.log(`# ${lab.inventoryPath}`);
      process.stdout.write(await readFile(lab.inventoryPath, 'utf8'));
      return 0;
    }
    default:
      console.error(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(
      err instanceof LabUnavailableError
        ? err.message
        : `lab: ${err instanceof Error ? err.message : String(err)}`,
    );
    process.exit(err instanceof LabUnavailableError ? 2 : 1);
  },
);
