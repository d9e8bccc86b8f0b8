/** Prints which engine `--engine auto` picks on this machine (the convert/reshard rows name it). */
import { createEngine } from "../../src/engine/mod.ts";

const engine = await createEngine({ kind: "auto" });
console.log(JSON.stringify({ kind: engine.kind, adapter: engine.adapterName ?? null }));
engine.dispose();
