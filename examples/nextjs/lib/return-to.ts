/** A same-origin path to go back to after login, or `/dashboard`. */
export function safeReturnTo(value: unknown): string {
  return typeof value === "string" && /^\/(?![/\\])/.test(value) && !/[\\\u0000-\u001f]/.test(value)
    ? value
    : "/dashboard";
}
