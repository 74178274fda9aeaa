/**
 * One error class and a closed list of codes; each code tells the runtime what to do next
 * (STYLE.md §4). Check the code with `hasCode`, never `instanceof`.
 */
export type ErrorCode =
  | 'config_invalid' // stop at boot; the message names the file, line, field and a fix
  | 'input_invalid' // an input file cannot be read at all; stop with a clear message
  | 'not_connected' // reopen with backoff
  | 'end_of_input' // replay finished; stop gracefully
  | 'write_rejected' // the sink refused a batch; retry per policy
  | 'unrecoverable'; // never retry

export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
  get retriable(): boolean {
    return this.code === 'not_connected' || this.code === 'write_rejected';
  }
}

export const hasCode = (e: unknown, code: ErrorCode): boolean =>
  typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code;

export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
