/**
 * A small, strict matcher of Amazon EventBridge event-pattern semantics, enough to test
 * the watch rules' patterns against sample CloudTrail events without AWS. It follows the
 * EventBridge user guide ("Event patterns", "Content filtering", "Comparison operators for
 * use in event patterns") and the reference implementation's README (aws/event-ruler):
 *
 * - every field named in the pattern must match (AND); a field's list of values matches if
 *   any of them does (OR); `$or` holds alternative sub-patterns;
 * - a value in the event that is an array matches if any element does; arrays of objects
 *   are flattened (`resources.ARN` matches any element's `ARN`);
 * - exact strings, numbers, booleans and null; `prefix`, `suffix`, `equals-ignore-case`,
 *   `wildcard` (`*` any run, `\*` a literal star), `cidr` (IPv4), `exists`;
 * - `anything-but` a value, a list, or `{prefix|suffix|equals-ignore-case|wildcard}` (a
 *   string or a list): it matches only a field that is present;
 * - `exists: false` matches a leaf that is absent (also when its parents are).
 *
 * Anything else (numeric ranges, unknown operators) throws, so a pattern the matcher does
 * not understand fails its test instead of passing silently.
 */

type Json = unknown;

const isObject = (value: Json): value is Record<string, Json> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function wildcardRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!;
    if (char === '\\' && (pattern[i + 1] === '*' || pattern[i + 1] === '\\')) {
      source += `\\${pattern[++i]}`;
    } else if (char === '*') {
      if (pattern[i + 1] === '*') throw new Error(`event pattern: consecutive wildcards in "${pattern}"`);
      source += '.*';
    } else {
      source += char.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 's');
}

function ipv4(value: string): number | undefined {
  const parts = value.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) {
    return undefined;
  }
  return parts.reduce((sum, part) => sum * 256 + Number(part), 0);
}

function inCidr(cidr: string, value: string): boolean {
  const [network = '', bits = ''] = cidr.split('/');
  const base = ipv4(network);
  const address = ipv4(value);
  const length = Number(bits);
  if (base === undefined || !Number.isInteger(length) || length < 0 || length > 32) {
    throw new Error(`event pattern: unsupported cidr "${cidr}" (IPv4 only here)`);
  }
  if (address === undefined) return false;
  const size = 2 ** (32 - length);
  return Math.floor(address / size) === Math.floor(base / size);
}

const strings = (value: Json, operator: string): string[] => {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((item) => typeof item === 'string')) {
    throw new Error(`event pattern: ${operator} takes a string or a list of strings`);
  }
  return list as string[];
};

/** Whether one present scalar value matches one pattern value. */
function matchesValue(matcher: Json, value: Json): boolean {
  if (!isObject(matcher)) return matcher === value;
  const entries = Object.entries(matcher);
  if (entries.length !== 1)
    throw new Error(`event pattern: one operator per matcher (${JSON.stringify(matcher)})`);
  const [operator, operand] = entries[0]!;
  const text = typeof value === 'string' ? value : undefined;
  switch (operator) {
    case 'prefix':
      if (isObject(operand)) {
        const ignoreCase = operand['equals-ignore-case'];
        return text !== undefined && typeof ignoreCase === 'string'
          ? text.toLowerCase().startsWith(ignoreCase.toLowerCase())
          : false;
      }
      return text?.startsWith(strings(operand, 'prefix')[0]!) === true;
    case 'suffix':
      return text?.endsWith(strings(operand, 'suffix')[0]!) === true;
    case 'equals-ignore-case':
      return text !== undefined && text.toLowerCase() === strings(operand, operator)[0]!.toLowerCase();
    case 'wildcard':
      return text !== undefined && wildcardRegExp(strings(operand, 'wildcard')[0]!).test(text);
    case 'cidr':
      return text !== undefined && inCidr(strings(operand, 'cidr')[0]!, text);
    case 'anything-but':
      return !anythingButExcludes(operand, value);
    case 'exists':
      // Reached only for a present value.
      return operand === true;
    default:
      throw new Error(`event pattern: unsupported operator "${operator}"`);
  }
}

/** Whether `anything-but: operand` excludes the present value. */
function anythingButExcludes(operand: Json, value: Json): boolean {
  if (!isObject(operand)) {
    const list = Array.isArray(operand) ? operand : [operand];
    if (list.length === 0) throw new Error('event pattern: anything-but with an empty list');
    return list.includes(value);
  }
  const entries = Object.entries(operand);
  if (entries.length !== 1)
    throw new Error(`event pattern: unsupported anything-but ${JSON.stringify(operand)}`);
  const [operator, values] = entries[0]!;
  if (!['prefix', 'suffix', 'equals-ignore-case', 'wildcard'].includes(operator)) {
    throw new Error(`event pattern: unsupported anything-but operator "${operator}"`);
  }
  return strings(values, `anything-but ${operator}`).some((item) =>
    matchesValue({ [operator]: item }, value),
  );
}

/** The values at `key` of an event node, flattening arrays (of scalars or of objects). */
function valuesAt(node: Json, key: string): Json[] {
  const nodes = Array.isArray(node) ? node : [node];
  const found: Json[] = [];
  for (const item of nodes) {
    if (isObject(item) && key in item) {
      const value = item[key];
      if (Array.isArray(value)) found.push(...value);
      else found.push(value);
    }
  }
  return found;
}

function matchesLeaf(matchers: Json[], values: Json[]): boolean {
  if (matchers.length === 0) throw new Error('event pattern: an empty list of values matches nothing');
  return matchers.some((matcher) => {
    if (isObject(matcher) && 'exists' in matcher) {
      const present = values.length > 0;
      return matcher.exists === present;
    }
    return values.some((value) => !isObject(value) && matchesValue(matcher, value));
  });
}

/** Whether the (sub-)pattern matches the event node. */
export function matchesPattern(pattern: Json, event: Json): boolean {
  if (!isObject(pattern))
    throw new Error(`event pattern: expected an object, got ${JSON.stringify(pattern)}`);
  for (const [key, sub] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!Array.isArray(sub) || sub.length < 2)
        throw new Error('event pattern: $or takes two or more patterns');
      if (!sub.some((alternative) => matchesPattern(alternative, event))) return false;
      continue;
    }
    const values = valuesAt(event, key);
    if (Array.isArray(sub)) {
      if (!matchesLeaf(sub, values)) return false;
    } else if (isObject(sub)) {
      // A nested pattern: an absent node leaves only `exists: false` leaves to match.
      const nested = values.filter(isObject);
      if (!matchesPattern(sub, nested.length > 0 ? nested : [{}])) return false;
    } else {
      throw new Error(`event pattern: "${key}" must hold a list or an object`);
    }
  }
  return true;
}
