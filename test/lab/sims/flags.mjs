// Command-line parsing with the rules of spf13/pflag, which both real binaries use:
// `--name=value` and `--name value`; a boolean takes no separate value (`--x=false` to turn it
// off); `_` and `-` are the same in names; the last occurrence wins; `--` ends the flags.
// The real binaries reject unknown flags. The simulators accept them, because nodes pass many
// flags the simulators have no use for; an unknown flag takes the next token as its value
// unless that token looks like a flag.

/**
 * @param {string[]} argv arguments after the program name
 * @param {{ booleans: Set<string>, values: Set<string> }} known flag names, without dashes
 * @returns {{ flags: Map<string, string>, positional: string[] }}
 */
export function parseFlags(argv, known) {
  const flags = new Map();
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = (eq === -1 ? body : body.slice(0, eq)).replaceAll('_', '-');
    if (eq !== -1) {
      flags.set(name, body.slice(eq + 1));
    } else if (known.booleans.has(name)) {
      flags.set(name, 'true');
    } else if (known.values.has(name)) {
      // pflag takes the next token whatever it looks like.
      if (i + 1 >= argv.length) throw new Error(`flag needs an argument: --${name}`);
      flags.set(name, argv[++i]);
    } else if (i + 1 < argv.length && !argv[i + 1].startsWith('-')) {
      flags.set(name, argv[++i]);
    } else {
      flags.set(name, 'true');
    }
  }
  return { flags, positional };
}
