/**
 * SQL's three-valued logic, for the executor's AND / OR / NOT (NULL is "unknown"):
 * AND is false if either side is false, OR true if either side is true; otherwise
 * an unknown side makes the result unknown.
 */

export type Bool3 = boolean | null;

export function and3(a: Bool3, b: Bool3): Bool3 {
  if (a === false || b === false) return false;
  if (a === null || b === null) return null;
  return true;
}

export function or3(a: Bool3, b: Bool3): Bool3 {
  if (a === true || b === true) return true;
  if (a === null || b === null) return null;
  return false;
}

export function not3(a: Bool3): Bool3 {
  return a === null ? null : !a;
}
