// The text of anything thrown. Pure (no imports), so workflows, activities, the API and scripts share it.
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The message of a workflow's caught failure: an activity's or child's failure carries the real reason in its
 *  cause (the ApplicationFailure thrown inside), so that one is shown. */
export function failureMessage(err: unknown): string {
  return err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
}
