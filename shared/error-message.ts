// The text of anything thrown. Pure (no imports), so workflows, activities, the API and scripts share it.
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
