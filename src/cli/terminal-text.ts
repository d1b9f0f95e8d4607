/** Text for the terminal: what a file, a label or a message may hold, shown on one line. */

/**
 * An error as one stderr line: line breaks and other control characters (from a file name,
 * a label or a quoted bit of a file) escaped, and a very long message cut in the middle.
 */
export function oneLine(message: string, limit = 2000): string {
  // eslint-disable-next-line no-control-regex
  const escaped = message.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  return escaped.length <= limit ? escaped : `${escaped.slice(0, limit / 2)} … ${escaped.slice(-limit / 2)}`;
}
