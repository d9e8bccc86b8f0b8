/**
 * zod, as every schema of untrusted input here uses it (parse, don't validate): `zod/mini`, whose schemas
 * are plain functions a bundler keeps only where used, where the classic `z` brings every schema type with
 * its methods, and 40 locales (about 13 ms of CPU at the start of `webdcp inspect`); with zod's English
 * messages, which the classic build sets and the mini one leaves out. Import it as a namespace
 * (`import * as z from "../schema/mod.ts"`), which bundlers trim to the names used. A schema kept in a
 * module constant is built on first use (`lazySchema`).
 * @module
 */
import { config } from "zod/mini";
import en from "zod/v4/locales/en.js";

config(en());

export * from "zod/mini";
export { lazySchema } from "./lazy_schema.ts";
