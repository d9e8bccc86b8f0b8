/**
 * A device that records every buffer created through it (the rest of the device as it is), so a test can
 * check what a load created and whether it destroyed it.
 */
export function watchedDevice(device: GPUDevice): { device: GPUDevice; created: GPUBuffer[] } {
  const created: GPUBuffer[] = [];
  const watched = new Proxy(device, {
    get(target, key) {
      if (key === "createBuffer") {
        return (d: GPUBufferDescriptor) => {
          const b = target.createBuffer(d);
          created.push(b);
          return b;
        };
      }
      const v = Reflect.get(target, key);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { device: watched, created };
}
