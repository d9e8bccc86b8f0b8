export { runLimited } from "./run_limited.ts";
