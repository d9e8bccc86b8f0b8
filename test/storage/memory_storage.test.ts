import { MemoryStorage } from "../../src/storage/mod.ts";
import { describeStorage } from "./storage_spec.ts";

describeStorage("MemoryStorage", () => Promise.resolve(new MemoryStorage()));
