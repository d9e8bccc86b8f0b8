/**
 * Configuration mistakes, reported before any work starts: the key, the value given, what is allowed and,
 * for a misspelt name, the nearest valid one.
 */
import { UsageError } from "../errors/mod.ts";

/** What is wrong with one configuration key; the fields a `ConfigError` shows. */
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

/** A configuration mistake (code `E_CONFIG`); its message joins key, value, reason, what is allowed and suggestion. */
export class ConfigError extends UsageError {
  /** Dotted key, e.g. `checkpoint.interval`. */
  readonly key: string;
  /** The offending value, when there is one. */
  readonly value?: unknown;
  /** What the key accepts, in words. */
  readonly allowed?: string;
  /** The nearest valid name for a typo. */
  readonly suggestion?: string;

  /** Builds the error and its message from one problem. */
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
