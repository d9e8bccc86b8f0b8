export { runLimited } from "./run_limited.ts";
export { type JobProgress, type ProgressCallback, ProgressTracker } from "./progress.ts";
export { hostModule } from "./host_module.ts";
