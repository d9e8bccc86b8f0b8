import type { OptionSpec, ParsedArgs } from "./args.ts";
import type { CommandContext } from "./output.ts";

/**
 * One `webdcp <name>` subcommand; its name and summary line live in main.ts's table, which loads the
 * module only when the command runs. `run` returns the exit code (0 ok, 1 problems); usage errors throw.
 */
export interface Command {
  /** Full `--help` text. */
  help: string;
  options: OptionSpec;
  run(args: ParsedArgs, ctx: CommandContext): Promise<number>;
}

/** Help lines shared by every command. */
export const COMMON_HELP = `  --json     print the result as JSON on stdout
  --quiet    no progress bar, warnings or summary lines
  --follow-symlinks  follow symbolic links inside a checkpoint that lead outside it (refused by default)
  --limits N=V,...   raise limits on untrusted input (docs/LIMITS.md), e.g. maxTensors=2000000
  --help     show this help`;
