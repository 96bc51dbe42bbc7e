// Every route file of the API. A new file exports `register(r: RouteRegistry, deps: AppDeps)` and gets one
// line here (see the top of api/openapi.ts).
import type { AppDeps } from '../app.js';
import type { RouteRegistry } from '../openapi.js';
import * as apiKeys from './api-keys.js';
import * as attempts from './attempts.js';
import * as auditLog from './audit-log.js';
import * as blacklist from './blacklist.js';
import * as campaigns from './campaigns.js';
import * as campaignState from './campaign-state.js';
import * as codec from './codec.js';
import * as contacts from './contacts.js';
import * as destinations from './destinations.js';
import * as documents from './documents.js';
import * as erasures from './erasures.js';
import * as imports from './imports.js';
import * as contactProcesses from './contact-processes.js';
import * as interactionContent from './interaction-content.js';
import * as interactions from './interactions.js';
import * as jobs from './jobs.js';
import * as lists from './lists.js';
import * as metrics from './metrics.js';
import * as playback from './playback.js';
import * as processes from './processes.js';
import * as results from './results.js';
import * as recordingExportJobs from './recording-export-jobs.js';
import * as reports from './reports.js';
import * as runs from './runs.js';
import * as salesforce from './salesforce.js';
import * as taskLog from './task-log.js';
import * as tasks from './tasks.js';
import * as uploads from './uploads.js';

export interface RouteModule { register(r: RouteRegistry, deps: AppDeps): void }

export const routeModules: RouteModule[] = [
  documents,
  apiKeys,
  campaigns,
  contacts, lists, blacklist,
  interactions,
  interactionContent,
  playback,
  attempts,
  destinations,
  runs,
  recordingExportJobs,
  salesforce,
  reports,
  results,
  tasks,
  taskLog,
  metrics,
  uploads,
  imports, processes,
  contactProcesses,
  erasures, auditLog,
  codec,
  jobs, campaignState,
];
