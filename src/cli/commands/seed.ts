import { UsageError } from "../../errors/mod.ts";
import { createSeedCheckpoint } from "../../manager/mod.ts";
import { FileStorage, resolveHostPath } from "../../storage/file/mod.ts";
import { intOption, requirePositionals } from "../args.ts";
import { COMMON_HELP, defineCommand } from "../command.ts";

const DTYPES = ["float32", "bfloat16", "float16"] as const;

export const seedCommand = defineCommand({
  help: `usage: webdcp seed --model llama3 --flavor <flavor> --out <checkpoint folder> [--seed N]
                   [--dtype float32|bfloat16|float16] [--keys head|classic] [--ranks N] [--no-direct]
                   [--json]

Writes <out>/step-0 as TorchTitan's create_seed_checkpoint does: the model only, initialised the way
torchtitan 0.3.0 initialises it. Values depend on the seed alone (default 0), never on --ranks, and each
tensor is generated while it is written, so the largest flavors need little memory.

  --keys     key names: head (torchtitan 0.3.0, default) or classic (v0.1-v0.2.x: attention.wq, output)
  --ranks    writer ranks, each holding rows of every tensor (default 1)
  --no-direct  write through the page cache; by default the files are written with direct I/O where the
             platform allows (Linux, under Deno), as nothing reads a seed back at once

${COMMON_HELP}`,
  options: { values: ["model", "flavor", "out", "seed", "dtype", "keys", "ranks"], flags: ["no-direct"] },
  async run(args, ctx) {
    requirePositionals(args, []);
    const need = (name: string) => {
      const v = args.values.get(name);
      if (v === undefined) throw new UsageError("E_USAGE", `--${name} is required`);
      return v;
    };
    const model = need("model");
    if (model !== "llama3") throw new UsageError("E_USAGE", `--model must be llama3, not '${model}'`);
    const dtype = args.values.get("dtype") ?? "float32";
    if (!(DTYPES as readonly string[]).includes(dtype)) {
      throw new UsageError("E_USAGE", `--dtype must be one of ${DTYPES.join(", ")}`);
    }
    const keys = args.values.get("keys") ?? "head";
    if (keys !== "head" && keys !== "classic") throw new UsageError("E_USAGE", "--keys must be head or classic");
    const root = resolveHostPath(ctx.rt.cwd(), need("out"));
    const step = resolveHostPath(root, "step-0");
    const storage = new FileStorage(root, { directWrites: !args.flags.has("no-direct") });
    const metadata = await createSeedCheckpoint(storage, {
      model,
      flavor: need("flavor"),
      seed: intOption(args, "seed", 0) ?? 0,
      dtype: dtype as typeof DTYPES[number],
      keys,
      ranks: intOption(args, "ranks") ?? 1,
      onProgress: ctx.progress.update,
    });
    ctx.progress.finish();
    const tensors = metadata.stateDictMetadata.size;
    if (ctx.json) {
      ctx.rt.out(`${JSON.stringify({ path: step, tensors, dtype, keys }, null, 1)}\n`);
    } else ctx.say(`wrote ${step}: ${tensors} tensors in ${dtype}`);
    return 0;
  },
});
