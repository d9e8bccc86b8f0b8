/**
 * For the package build only (tsconfig.build.json). WebGPU's `writeBuffer` takes an AllowSharedBufferSource:
 * any ArrayBufferView, whatever buffer is under it. @webgpu/types 0.1.74 spells that as
 * `BufferSource | SharedArrayBuffer`, which TypeScript 5.9's DOM lib narrows to views over a plain
 * ArrayBuffer, so `Uint8Array` (over ArrayBufferLike) is refused. Deno's own WebGPU types accept it, and so
 * does this overload, written as the spec has it.
 */
interface GPUQueue {
  writeBuffer(
    buffer: GPUBuffer,
    bufferOffset: GPUSize64,
    data: AllowSharedBufferSource,
    dataOffset?: GPUSize64,
    size?: GPUSize64,
  ): undefined;
}
