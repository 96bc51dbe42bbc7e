// Temporal Schedules the platform runs for itself, tied to no job definition (housekeeping). They are
// listed in GET /tasks as type 'maintenance' next to the job definitions' schedules; the schedule sync
// (schedule-sync.ts) leaves them alone. A new one gets a line here.
import { REPORT_RETENTION_SCHEDULE_ID } from '../../contracts/report.js';
import { CONTENT_EXPIRY_SCHEDULE_ID } from '../../contracts/content-expiry.js';

export const MAINTENANCE_TYPE = 'maintenance';

export interface MaintenanceSchedule { scheduleId: string; taskName: string; objectName: string }

export const MAINTENANCE_SCHEDULES: readonly MaintenanceSchedule[] = [
  { scheduleId: REPORT_RETENTION_SCHEDULE_ID, taskName: 'Remove saved reports older than 30 days', objectName: 'Saved reports' },
  { scheduleId: CONTENT_EXPIRY_SCHEDULE_ID, taskName: 'Remove interaction content past its storage time (RECORDING_STORAGE_DAYS)', objectName: 'Interaction content' },
];
