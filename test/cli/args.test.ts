import { describe, expect, test } from "vitest";
import { intOption, listOption, parseArgs, parsePart } from "../../src/cli/args.ts";
import { formatError, table } from "../../src/cli/output.ts";
import { formatBytes, formatDuration, renderProgressLine } from "../../src/cli/progress_bar.ts";
import { FormatError, UsageError } from "../../src/errors/mod.ts";

const SPEC = { values: ["to", "ranks"], flags: ["dry-run"] };

describe("parseArgs()", () => {
  test("takes values as --name v or --name=v, switches, positionals and the common flags", () => {
    const a = parseArgs(["src", "--to", "dcp", "--ranks=3", "--dry-run", "dst", "--json", "-h"], SPEC);
    expect(a.positionals).toEqual(["src", "dst"]);
    expect([...a.values]).toEqual([["to", "dcp"], ["ranks", "3"]]);
    expect([...a.flags].sort()).toEqual(["dry-run", "help", "json"]);
    expect(intOption(a, "ranks")).toBe(3);
  });

  test("everything after -- is positional", () => {
    expect(parseArgs(["--", "--json"], SPEC).positionals).toEqual(["--json"]);
  });

  test("listOption() splits on commas and drops empty items", () => {
    expect(listOption(parseArgs(["--to", "a, b,,c"], SPEC), "to")).toEqual(["a", "b", "c"]);
  });
});

describe("parseArgs() (adversarial)", () => {
  test("rejects unknown options, missing values and values given to switches", () => {
    expect(() => parseArgs(["--nope"], SPEC)).toThrow(/unknown option --nope/);
    expect(() => parseArgs(["--to"], SPEC)).toThrow(/--to needs a value/);
    expect(() => parseArgs(["--dry-run=yes"], SPEC)).toThrow(/takes no value/);
  });

  test("intOption() rejects non-integers and values below the minimum", () => {
    for (const v of ["0", "-1", "1.5", "x"]) {
      expect(() => intOption(parseArgs(["--ranks", v], SPEC), "ranks")).toThrow(UsageError);
    }
  });

  test("parsePart() accepts r/w with 0 <= r < w only", () => {
    expect(parsePart("1/4")).toEqual({ index: 1, count: 4 });
    for (const bad of ["4/4", "0/0", "1", "a/b", "-1/2"]) expect(() => parsePart(bad)).toThrow(/--part/);
  });
});

describe("output formatting", () => {
  test("formatError() prints error: code: message (path @ offset) without repeating the location", () => {
    const e = new FormatError("E_TRUNCATED", "header ends early", { path: "a.safetensors", offset: 8 });
    expect(formatError(e)).toBe("error: E_TRUNCATED: header ends early (a.safetensors @ 8)");
    expect(formatError(new UsageError("E_USAGE", "bad (really)"))).toBe("error: E_USAGE: bad (really)");
  });

  test("renderProgressLine() shows the bar, bytes of total, rate and ETA", () => {
    const line = renderProgressLine({ bytesDone: 512 * 1024 ** 2, bytesTotal: 2 * 1024 ** 3 }, 2, 80);
    expect(line).toMatch(/^\[#+\.+\] {2}25\.0% 512\.0 MiB\/2\.00 GiB 256\.0 MiB\/s ETA 00:06$/);
    expect(line.length).toBeLessThanOrEqual(80);
  });

  test("formatBytes() and formatDuration() use binary units and h:mm:ss", () => {
    expect([formatBytes(0), formatBytes(1536), formatBytes(3 * 1024 ** 4)]).toEqual(["0 B", "1.50 KiB", "3.00 TiB"]);
    expect([formatDuration(59.6), formatDuration(3725), formatDuration(NaN)]).toEqual(["01:00", "1:02:05", "--:--"]);
  });

  test("table() pads columns and right-aligns numeric ones", () => {
    expect(table(["a", "n"], [["xyz", "1"], ["q", "22"]], [false, true])).toBe("a     n\n---  --\nxyz   1\nq    22");
  });
});
