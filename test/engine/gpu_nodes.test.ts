import { describe, expect, it } from "vitest";
import { certainlyNoGpu, GPU_NODES } from "../../src/engine/gpu/gpu_nodes.ts";

/** A check over a fake `/dev` that holds exactly `nodes`. */
const dev = (...nodes: string[]) => (path: string) => nodes.includes(path);

describe("certainlyNoGpu()", () => {
  it("is true when none of the nodes a GPU driver makes exists", () => {
    expect(certainlyNoGpu(dev("/dev/null", "/dev/kvm", "/dev/vda", "/dev/nvme0"))).toBe(true);
  });

  it("is false when any of them exists: DRM, NVIDIA's control node, WSL's GPU", () => {
    for (const node of GPU_NODES) expect(certainlyNoGpu(dev("/dev/null", node))).toBe(false);
    expect(GPU_NODES).toEqual(["/dev/dri", "/dev/nvidiactl", "/dev/dxg"]);
  });

  it("is false, so the adapter is asked for, where /dev cannot be looked at or there is no way to", () => {
    expect(certainlyNoGpu(() => {
      throw new Error("NotCapable: Requires all access to /dev");
    })).toBe(false);
    expect(certainlyNoGpu(null)).toBe(false);
  });

  it("under Node on Linux looks at the real /dev", async () => {
    const fs = await import("node:fs");
    const expected = process.platform === "linux" && GPU_NODES.every((p) => !fs.existsSync(p));
    expect(certainlyNoGpu()).toBe(expected);
  });
});
