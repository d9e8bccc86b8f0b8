/** Copies a GPU buffer's first `size` bytes back to the CPU (tests of results that stay on the GPU). */
export async function readGpuBuffer(device: GPUDevice, buffer: GPUBuffer, size: number): Promise<Uint8Array> {
  const padded = Math.ceil(size / 4) * 4;
  const read = device.createBuffer({ size: padded, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, read, 0, padded);
  device.queue.submit([encoder.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const bytes = new Uint8Array(read.getMappedRange()).slice(0, size);
  read.unmap();
  read.destroy();
  return bytes;
}
