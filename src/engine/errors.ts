/**
 * Errors a user can act on. The CLI prints them as one line ("<file>: <problem>") without a stack trace; anything
 * else that escapes is a bug and is reported as such.
 */
export class XaiLensError extends Error {
  override readonly name = 'XaiLensError';
  constructor(
    message: string,
    /** The file or folder the problem is about, when there is one. */
    readonly file?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
  }
}

export function isXaiLensError(e: unknown): e is XaiLensError {
  return e instanceof XaiLensError;
}

/** One line for a user: the message of a known error, or a short description of an unexpected one. */
export function describeError(e: unknown): string {
  if (isXaiLensError(e)) return e.message;
  if (e instanceof Error) return `internal error: ${e.message}`;
  return `internal error: ${String(e)}`;
}
