import type { OptionSpec, ParsedArgs } from "./args.ts";
import { parseArgs } from "./args.ts";
import { UsageError } from "../errors/mod.ts";
import type { CommandContext } from "./output.ts";
import { formatError, makeContext } from "./output.ts";
import type { Runtime } from "./runtime.ts";
import { exitCodeAfter } from "./stop_signals.ts";

/**
 * One `webdcp <name>` subcommand as its module declares it; its name and summary line live in main.ts's
 * table, which loads the module only when the command runs. `run` returns the exit code (0 ok, 1 problems);
 * usage errors throw.
 */
export interface CommandSpec {
  /** Full `--help` text. */
  help: string;
  options: OptionSpec;
  run(args: ParsedArgs, ctx: CommandContext): Promise<number>;
}

/** A subcommand, with the one way of running its command line (`defineCommand`). */
export interface Command extends CommandSpec {
  /**
   * Runs `webdcp <name> <argv...>` and returns the exit code (never throws): parses the options, prints help
   * or runs the command, formats what it throws, and waits for the cleanup of a stop signal that arrived.
   */
  execute(name: string, argv: readonly string[], rt: Runtime): Promise<number>;
}

/**
 * A command whose `execute` lives in the command's own module graph: the installed CLI bundles each command
 * on its own (dist/cli/commands/<name>.js), so the error classes its failures are told apart by, and the
 * stop-signal state its cleanups register in, must be the copies that command's code uses.
 */
export function defineCommand(spec: CommandSpec): Command {
  return { ...spec, execute: (name, argv, rt) => execute(spec, name, argv, rt) };
}

async function execute(command: CommandSpec, name: string, argv: readonly string[], rt: Runtime): Promise<number> {
  let code: number;
  try {
    const args = parseArgs(argv, command.options);
    if (args.flags.has("help")) {
      rt.out(`${command.help}\n`);
      code = 0;
    } else code = await command.run(args, makeContext(rt, args.flags.has("json"), args.flags.has("quiet")));
  } catch (e) {
    rt.err(`${formatError(e)}\n`);
    if (e instanceof UsageError) rt.err(`run 'webdcp ${name} --help' for usage\n`);
    code = e instanceof UsageError ? 2 : 1;
  }
  return await exitCodeAfter(code);
}

/** Help lines shared by every command. */
export const COMMON_HELP = `  --json     print the result as JSON on stdout
  --quiet    no progress bar, warnings or summary lines
  --follow-symlinks  follow symbolic links inside a checkpoint that lead outside it (refused by default)
  --limits N=V,...   raise limits on untrusted input (docs/LIMITS.md), e.g. maxTensors=2000000
  --help     show this help`;
