/**
 * Model text made safe for a terminal. Names in a model are arbitrary strings: printed raw, an
 * escape sequence in one could rewrite the screen, a newline fake a line of kiln's output, and a
 * bidi override reorder what a reader sees. Every control and format character becomes \uXXXX.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

const hex = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** `s` with every control or format character escaped, for one line of terminal output. */
export function printable(s: string): string {
  return s.replace(UNSAFE, hex);
}

/** `s` as a double-quoted string literal (JSON's escapes, plus every other control or format character). */
export function quoted(s: string): string {
  return JSON.stringify(s).replace(UNSAFE, hex);
}
