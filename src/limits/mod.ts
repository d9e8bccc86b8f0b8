export { checkLimit, DEFAULT_LIMITS, LimitError, type LimitName, type Limits, resolveLimits } from "./limits.ts";
