/** What every edit returns. `changed: false` means `content` is the input, byte for byte. */
export interface EditResult {
  content: string;
  changed: boolean;
}

/**
 * The file cannot be edited safely; the message says why in words a user can act on. It names no
 * file (an edit sees text only): callers prefix the path, e.g. with {@link EditError.inFile}.
 */
export class EditError extends Error {
  override readonly name = 'EditError';

  /** The same error with the file's path in front: "/etc/…/kube-apiserver.yaml: has no …". */
  inFile(path: string): EditError {
    return new EditError(`${path}: ${this.message}`);
  }
}

export const unchanged = (content: string): EditResult => ({ content, changed: false });

export function result(before: string, after: string): EditResult {
  return after === before ? unchanged(before) : { content: after, changed: true };
}

/** Values that edits write into files: one line, no control characters. */
export function assertOneLine(what: string, value: string): void {
  if (/[\r\n\0]/.test(value)) throw new EditError(`${what} must be a single line: ${JSON.stringify(value)}`);
}
