/**
 * Key selection by glob: `*` matches any run of characters except `.`, `**` any run including `.`, `?` one
 * character. A pattern without wildcards also matches every key below it (`optimizer` selects
 * `optimizer.state.w.exp_avg`), which is how users think of state-dict groups.
 */
export function globToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        re += ".*";
        i++;
      } else {
        re += "[^.]*";
      }
    } else if (c === "?") {
      re += ".";
    } else {
      re += c.replace(/[\\^$+.()|{}[\]]/g, "\\$&");
    }
  }
  return new RegExp(`^${re}(?:\\..*)?$`);
}

/** A predicate over keys: kept when it matches some `include` (or there is none) and no `exclude`. */
export function keyFilter(include?: readonly string[], exclude?: readonly string[]): (key: string) => boolean {
  const inc = (include ?? []).map(globToRegExp);
  const exc = (exclude ?? []).map(globToRegExp);
  return (key) => (inc.length === 0 || inc.some((r) => r.test(key))) && !exc.some((r) => r.test(key));
}
