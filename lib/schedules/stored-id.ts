// A definition's Temporal Schedule id as saved (job_definitions.schedule_id): `<kind>/<id>`, or scoped by the
// task queue when another installation held that id at creation (lib/temporal/schedules.ts). Read, never
// recomputed, so definitions made either way keep their own schedule.
import type { Sql } from '../../db/sql.js';

export async function storedScheduleId(sql: Sql, definitionId: string): Promise<string> {
  const [row] = await sql<{ schedule_id: string | null }[]>`select schedule_id from job_definitions where id = ${definitionId}`;
  if (!row?.schedule_id) throw new Error(`job definition ${definitionId} has no schedule`);
  return row.schedule_id;
}
