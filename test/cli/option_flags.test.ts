import { expect, test } from "vitest";
import { flagOf, formatError } from "../../src/cli/output.ts";
import { FormatError, UsageError } from "../../src/errors/mod.ts";

test("flagOf() spells a library option as its command-line flag", () => {
  expect(flagOf("dtype")).toBe("--dtype");
  expect(flagOf("dpShard")).toBe("--dp-shard");
  expect(flagOf("maxShardSize")).toBe("--max-shard-size");
});

test("formatError() names the flag where a library error names its option, and leaves other errors alone", () => {
  const e = new UsageError("E_USAGE", "dtype must be one of float32, bfloat16, got 'float64'", { option: "dtype" });
  expect(formatError(e)).toBe("error: E_USAGE: --dtype must be one of float32, bfloat16, got 'float64'");
  const mesh = new UsageError("E_USAGE", "dpShard must be >= 1, got 0", { option: "dpShard" });
  expect(formatError(mesh)).toBe("error: E_USAGE: --dp-shard must be >= 1, got 0");
  const plain = new FormatError("E_TRUNCATED", "dtype table ends early", { path: "m", offset: 4 });
  expect(formatError(plain)).toBe("error: E_TRUNCATED: dtype table ends early (m @ 4)");
});
