/**
 * How deep a resource's JSON may nest. The validator, the canonical JSON of commitments and the search index walk
 * resources recursively; a body nested deeper than the stack allows made them throw (a 500). HL7's R4 resources
 * nest far less than this limit: the deepest element paths of the types records stores are under 10 levels, and
 * each extension on an extension adds two (the `extension` array and its element), so 64 leaves room for about
 * 25 levels of nested extensions on the deepest element.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The path (FHIRPath-like, `Observation.extension[0].extension[0]…`) of the first value nested deeper than
 * `limit` containers, or undefined. Iterative, so that it cannot overflow the stack it protects.
 */
export function tooDeep(json: unknown, root: string, limit = MAX_JSON_DEPTH): string | undefined {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value: json, depth: 0, path: root }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value, depth, path } = next;
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= limit) return path;
    if (Array.isArray(value))
      value.forEach((item, i) => stack.push({ value: item, depth: depth + 1, path: `${path}[${i}]` }));
    else
      for (const [key, item] of Object.entries(value))
        stack.push({ value: item, depth: depth + 1, path: `${path}.${key}` });
  }
  return undefined;
}
