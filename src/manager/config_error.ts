/**
 * Configuration mistakes, reported before any work starts: the key, the value given, what is allowed and,
 * for a misspelt name, the nearest valid one.
 */
import { UsageError } from "../errors/mod.ts";

export interface ConfigProblem {
  /** Dotted key as the user wrote it, e.g. `checkpoint.interval`. */
  key: string;
  /** The offending value (or the unknown key's value). */
  value?: unknown;
  /** What the key accepts, in words. */
  allowed?: string;
  /** The nearest valid name for a typo. */
  suggestion?: string;
  /** Why, when a rule rather than a type is broken (TorchTitan's reason where it gives one). */
  reason?: string;
}

export class ConfigError extends UsageError {
  readonly key: string;
  readonly value?: unknown;
  readonly allowed?: string;
  readonly suggestion?: string;

  constructor(p: ConfigProblem) {
    const parts = [`${p.key}${"value" in p ? ` = ${showValue(p.value)}` : ""}`];
    if (p.reason) parts.push(p.reason);
    if (p.allowed) parts.push(`allowed: ${p.allowed}`);
    if (p.suggestion) parts.push(`did you mean '${p.suggestion}'?`);
    super("E_CONFIG", parts.join("; "));
    this.key = p.key;
    this.value = p.value;
    this.allowed = p.allowed;
    this.suggestion = p.suggestion;
  }
}

function showValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
