export { runLimited } from "./run_limited.ts";
export { type JobProgress, type ProgressCallback, ProgressTracker } from "./progress.ts";
