import { describe, expect, it } from "vitest";
import { certainlyNoGpu } from "../../src/engine/gpu/gpu_nodes.ts";

/** A lister over a fake `/dev`: folder -> names; a missing folder rejects as readdir does. */
function dev(folders: Record<string, string[]>) {
  return (path: string) =>
    path in folders ? Promise.resolve(folders[path]) : Promise.reject(new Error(`ENOENT: ${path}`));
}

describe("certainlyNoGpu()", () => {
  it("is true when /dev holds no render node, no NVIDIA node and no /dev/dxg", async () => {
    expect(await certainlyNoGpu(dev({ "/dev": ["null", "zero", "tty0", "vda", "kvm"] }))).toBe(true);
    // A display-only DRM device (card0) has no render node: nothing to compute on.
    expect(await certainlyNoGpu(dev({ "/dev": ["null", "dri"], "/dev/dri": ["card0", "by-path"] }))).toBe(true);
  });

  it("is false when any node a hardware adapter is reached through exists", async () => {
    expect(await certainlyNoGpu(dev({ "/dev": ["null", "dri"], "/dev/dri": ["card0", "renderD128"] }))).toBe(false);
    expect(await certainlyNoGpu(dev({ "/dev": ["nvidiactl", "nvidia-uvm", "nvidia0"] }))).toBe(false);
    expect(await certainlyNoGpu(dev({ "/dev": ["null", "dxg"] }))).toBe(false);
  });

  it("is false, so the adapter is asked for, where /dev cannot be read or there is no way to list it", async () => {
    expect(await certainlyNoGpu(dev({}))).toBe(false);
    expect(await certainlyNoGpu(dev({ "/dev": ["dri"] }))).toBe(false);
    expect(await certainlyNoGpu(null)).toBe(false);
  });
});
