import { writeDcpOutput } from "./to_dcp.ts";
import { writeSafetensorsOutput } from "./to_safetensors.ts";
import { writeTorchOutput } from "./to_torch.ts";
import type { TargetFormat, Writer } from "./writer.ts";

/** The writer of each output format. */
export const WRITERS: Readonly<Record<TargetFormat, Writer>> = {
  dcp: writeDcpOutput,
  safetensors: writeSafetensorsOutput,
  torch: writeTorchOutput,
};
