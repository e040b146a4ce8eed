/** An expected failure caused by the user's input: printed as one message, exit code 2 by default. */
export class GuardError extends Error {
  readonly exitCode: number;
  /** Where: inside the migrations folder, relative to it; the command layer shows it from the working directory. */
  file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly hint?: string;

  constructor(
    message: string,
    opts: { file?: string; line?: number; column?: number; hint?: string; exitCode?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "GuardError";
    this.exitCode = opts.exitCode ?? 2;
    this.file = opts.file;
    this.line = opts.line;
    this.column = opts.column;
    this.hint = opts.hint;
  }

  /** `file:line:col: message` (the location parts that are known). */
  format(): string {
    const where = this.file ? [this.file, this.line, this.column].filter((p) => p !== undefined).join(":") + ": " : "";
    return where + this.message + (this.hint ? `\n  hint: ${this.hint}` : "");
  }
}

export function isGuardError(e: unknown): e is GuardError {
  return e instanceof GuardError;
}
