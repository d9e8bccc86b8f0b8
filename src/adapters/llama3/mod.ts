export * from "./flavors.ts";
export * from "./parameters.ts";
export * from "./rotary.ts";
export * from "./hf_config.ts";
export * from "./mapping.ts";
export * from "./mesh_layout.ts";
