// All activities of the platform, built from their dependencies. Each job adds its own factory here.
import type { ActivityDeps } from './deps.js';
import { createChoreActivities } from './chores.js';
import { createErasureActivities } from './erasure.js';
import { createContentExpiryActivities } from './content-expiry.js';
import { createRecordingExportActivities } from './recording-export.js';
import { createReportActivities } from './report.js';
import { createResultsActivities } from './results.js';
import { createListImportActivities } from './list-import.js';
import { createExclusionsImportActivities } from './exclusions-import.js';
import { createContactProcessActivities } from './contact-processes.js';
import { createRunActivities } from './runs.js';
import { createSalesforceExportActivities } from './salesforce-export.js';
import { createJobActivities } from './jobs.js';

export type { ActivityDeps } from './deps.js';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createRunActivities(deps),
    ...createListImportActivities(deps),
    ...createExclusionsImportActivities(deps),
    ...createContactProcessActivities(deps),
    ...createReportActivities(deps),
    ...createResultsActivities(deps),
    ...createErasureActivities(deps),
    ...createContentExpiryActivities(deps),
    ...createRecordingExportActivities(deps),
    ...createSalesforceExportActivities(deps),
    ...createJobActivities(deps),
    ...createChoreActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
