// A namespace import lets esbuild drop what is unused (zod/mini: no methods to keep alive).
import * as z from 'zod/mini';

/**
 * The few zod/mini schemas the record, event, profile and lease schemas repeat: zod/mini has
 * no `.min()` or `.int()` methods, so what full zod spelled `z.string().min(1)` is a check.
 * Each call builds a new schema, as each full-zod chain did.
 */

/** A string of at least one character (`z.string().min(1)`). */
export function nonEmptyString() {
  return z.string().check(z.minLength(1));
}

/** An array of at least one `element` (`z.array(element).min(1)`). */
export function nonEmptyArray<T extends z.core.SomeType>(element: T) {
  return z.array(element).check(z.minLength(1));
}

/** A whole number above zero, such as a lifetime in seconds (`z.number().int().positive()`). */
export function positiveInt() {
  return z.number().check(z.int(), z.positive());
}
