/**
 * `webdcp` command line: `deno task webdcp <command> ...` (also runs under Node). Exit codes: 0 ok, 1 problems
 * or failures, 2 usage errors.
 */
import { UsageError } from "../errors/mod.ts";
import { parseArgs } from "./args.ts";
import type { Command } from "./command.ts";
import { convertCommand } from "./commands/convert.ts";
import { diffCommand } from "./commands/diff.ts";
import { finalizeCommand } from "./commands/finalize.ts";
import { inspectCommand } from "./commands/inspect.ts";
import { reshardCommand } from "./commands/reshard.ts";
import { verifyCommand } from "./commands/verify.ts";
import { formatError, makeContext } from "./output.ts";
import type { Runtime } from "./runtime.ts";
import { hostRuntime } from "./runtime.ts";

export const COMMANDS: readonly Command[] = [
  inspectCommand,
  convertCommand,
  reshardCommand,
  verifyCommand,
  diffCommand,
  finalizeCommand,
];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `usage: webdcp <command> [options]

Read, convert, reshard and check PyTorch DCP checkpoints, torch.save files and safetensors.

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Run 'webdcp <command> --help' for a command's options.
`;
}

/** Runs one command line and returns its exit code (never throws). */
export async function runCli(rt: Runtime): Promise<number> {
  const [name, ...rest] = rt.args;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    rt.out(mainHelp());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    rt.err(`${formatError(new UsageError("E_USAGE", `unknown command '${name}'`))}\n${mainHelp()}`);
    return 2;
  }
  try {
    const args = parseArgs(rest, command.options);
    if (args.flags.has("help")) {
      rt.out(`${command.help}\n`);
      return 0;
    }
    const ctx = makeContext(rt, args.flags.has("json"), args.flags.has("quiet"));
    return await command.run(args, ctx);
  } catch (e) {
    rt.err(`${formatError(e)}\n`);
    if (e instanceof UsageError) rt.err(`run 'webdcp ${name} --help' for usage\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main ?? isNodeEntry()) {
  const rt = hostRuntime();
  rt.exit(await runCli(rt));
}

/** Node has no `import.meta.main` before v24; compare the entry script instead. */
function isNodeEntry(): boolean {
  const entry = (globalThis as { process?: { argv?: string[] } }).process?.argv?.[1] ?? "";
  return entry.endsWith("/cli/main.ts") || entry.endsWith("\\cli\\main.ts");
}
