import { UsageError } from "../errors/mod.ts";
import type { Part } from "../writers/mod.ts";

/** The variables `--part auto` reads, by scheduler. */
const SLURM = ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX"];
const KUBERNETES = ["JOB_COMPLETION_INDEX"];
const TORCHRUN = ["RANK", "WORLD_SIZE"];

/**
 * `--part auto`: this process's share from the scheduler that started it, so one command line runs unchanged
 * in every task: a Slurm job array (`SLURM_ARRAY_TASK_ID` of `SLURM_ARRAY_TASK_COUNT`, or of MIN..MAX in
 * steps of `SLURM_ARRAY_TASK_STEP`), a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, with the completions
 * given as `parts`, since Kubernetes does not put them in the environment), or torchrun (`RANK` of
 * `WORLD_SIZE`). With `parts` in a Slurm array, the array ids 0..parts-1 are the part numbers, so one failed
 * task can be rerun alone (`sbatch --array=2`, whose own count is 1); elsewhere `parts` must agree with the
 * scheduler's count. No scheduler, two at once, or numbers that do not fit are usage errors naming the
 * variables.
 */
export function partFromEnv(env: Record<string, string | undefined>, parts?: number): Part {
  const found = [
    env.SLURM_ARRAY_TASK_ID !== undefined ? "slurm" : undefined,
    env.JOB_COMPLETION_INDEX !== undefined ? "kubernetes" : undefined,
    env.RANK !== undefined || env.WORLD_SIZE !== undefined ? "torchrun" : undefined,
  ].filter((s) => s !== undefined);
  if (found.length === 0) {
    throw new UsageError(
      "E_USAGE",
      `--part auto found no scheduler: set ${SLURM[0]} (Slurm array), ${KUBERNETES[0]} with --parts W ` +
        `(Kubernetes Indexed Job) or ${TORCHRUN.join(" and ")} (torchrun), or give --part R/W`,
    );
  }
  if (found.length > 1) {
    throw new UsageError(
      "E_USAGE",
      `--part auto is ambiguous: variables of ${found.join(" and ")} are all set; give --part R/W`,
    );
  }
  if (found[0] === "slurm" && parts !== undefined) {
    // The array ids are the part numbers: a rerun of one task (`sbatch --array=2`) keeps its share.
    return checked({ index: count(env, "SLURM_ARRAY_TASK_ID", 0), count: parts }, "SLURM_ARRAY_TASK_ID", "--parts");
  }
  const part = found[0] === "slurm"
    ? slurmPart(env)
    : found[0] === "kubernetes"
    ? kubernetesPart(env, parts)
    : torchrunPart(env);
  if (parts !== undefined && parts !== part.count) {
    throw new UsageError(
      "E_USAGE",
      `--parts ${parts} disagrees with the ${found[0]} environment, which has ${part.count} tasks`,
    );
  }
  return part;
}

function slurmPart(env: Record<string, string | undefined>): Part {
  const id = count(env, "SLURM_ARRAY_TASK_ID", 0);
  const step = env.SLURM_ARRAY_TASK_STEP === undefined ? 1 : count(env, "SLURM_ARRAY_TASK_STEP", 1);
  const hasRange = env.SLURM_ARRAY_TASK_MIN !== undefined && env.SLURM_ARRAY_TASK_MAX !== undefined;
  const min = hasRange ? count(env, "SLURM_ARRAY_TASK_MIN", 0) : 0;
  const max = hasRange ? count(env, "SLURM_ARRAY_TASK_MAX", min) : undefined;
  const tasks = env.SLURM_ARRAY_TASK_COUNT !== undefined ? count(env, "SLURM_ARRAY_TASK_COUNT", 1) : undefined;
  if (tasks === undefined && max === undefined) {
    throw new UsageError(
      "E_USAGE",
      "--part auto: SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MIN/MAX",
    );
  }
  const fromRange = max === undefined ? undefined : Math.floor((max - min) / step) + 1;
  if (tasks !== undefined && fromRange !== undefined && tasks !== fromRange) {
    throw new UsageError(
      "E_USAGE",
      `--part auto: SLURM_ARRAY_TASK_COUNT=${tasks} but MIN..MAX (${min}..${max}, step ${step}) holds ${fromRange} ids: ` +
        "the array is not one evenly stepped range (use --array=A-B or --array=A-B:S)",
    );
  }
  if (id < min || (id - min) % step !== 0) {
    throw new UsageError(
      "E_USAGE",
      `--part auto: SLURM_ARRAY_TASK_ID=${id} is not in the array ${min}..${max ?? "?"} step ${step}`,
    );
  }
  const index = (id - min) / step;
  return checked({ index, count: (tasks ?? fromRange)! }, "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT");
}

function kubernetesPart(env: Record<string, string | undefined>, parts: number | undefined): Part {
  if (parts === undefined) {
    throw new UsageError(
      "E_USAGE",
      "--part auto with JOB_COMPLETION_INDEX (Kubernetes Indexed Job) needs --parts W, the Job's completions",
    );
  }
  return checked({ index: count(env, "JOB_COMPLETION_INDEX", 0), count: parts }, "JOB_COMPLETION_INDEX", "--parts");
}

function torchrunPart(env: Record<string, string | undefined>): Part {
  if (env.RANK === undefined || env.WORLD_SIZE === undefined) {
    throw new UsageError("E_USAGE", "--part auto: torchrun sets both RANK and WORLD_SIZE, but only one of them is set");
  }
  return checked({ index: count(env, "RANK", 0), count: count(env, "WORLD_SIZE", 1) }, "RANK", "WORLD_SIZE");
}

function checked(part: Part, indexName: string, countName: string): Part {
  if (part.index >= part.count) {
    throw new UsageError("E_USAGE", `--part auto: ${indexName}=${part.index} is not below ${countName}=${part.count}`);
  }
  return part;
}

function count(env: Record<string, string | undefined>, name: string, min: number): number {
  const text = env[name] ?? "";
  const n = /^\d{1,9}$/.test(text.trim()) ? Number(text) : NaN;
  if (!(n >= min)) throw new UsageError("E_USAGE", `--part auto: ${name}='${text}' is not a whole number >= ${min}`);
  return n;
}
