/**
 * Characters that are the terminal's, not text: C0 controls but newline and tab (ESC starts the escapes
 * that write the clipboard, retitle the window or erase a line; CR rewrites it), DEL, the C1 controls
 * (U+009B is an 8-bit CSI) and the bidi overrides and isolates that reorder what is shown.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const terminalControls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from a model, a tool or a file, made safe to print: each control character is shown as its
 * JSON escape (`\u001b`, `\r`), so a person reads what is there instead of the terminal obeying it.
 * A JSON document stays the same document (a control can only be inside one of its strings).
 */
export function neutralizeControls(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(terminalControls, (control) => {
    const escaped = JSON.stringify(control).slice(1, -1);
    return escaped.startsWith('\\') ? escaped : `\\u${control.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** The same, through every string of a JSON-like value (what a terminal dashboard renders). */
export function neutralizeControlsDeep<T>(value: T): T {
  if (typeof value === 'string') return neutralizeControls(value) as T;
  if (Array.isArray(value)) return (value as unknown[]).map((v) => neutralizeControlsDeep(v)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, neutralizeControlsDeep(v)])) as T;
  return value;
}
