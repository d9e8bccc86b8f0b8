/**
 * A name from a checkpoint made safe to print: C0 and C1 control characters and DEL become `\xNN`. Hostile
 * names can carry terminal escape sequences (ESC, CSI `\x9b`, OSC) that would rewrite the user's terminal;
 * every human-readable output passes names through this one function. JSON output needs no escaping
 * (JSON.stringify escapes control characters itself).
 */
export function escapeName(name: string, opts: { keepNewlines?: boolean } = {}): string {
  // deno-lint-ignore no-control-regex
  const controls = opts.keepNewlines ? /[\x00-\x09\x0b-\x1f\x7f-\x9f]/g : /[\x00-\x1f\x7f-\x9f]/g;
  return name.replace(controls, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
