// Every console page module; each registers its GET pages and POST actions on the console router.
import type { Router } from 'express';
import type { AppDeps } from '../../app.js';
import * as apiKeys from './api-keys.js';
import * as auditLog from './audit-log.js';
import * as blacklist from './blacklist.js';
import * as campaigns from './campaigns.js';
import * as definitionForms from './definition-forms.js';
import * as destinations from './destinations.js';
import * as erasure from './erasure.js';
import * as jobs from './jobs.js';
import * as processes from './processes.js';
import * as reports from './reports.js';
import * as taskLog from './task-log.js';
import * as tasks from './tasks.js';

const pageModules = [tasks, taskLog, processes, campaigns, blacklist, jobs, reports, erasure, auditLog, destinations, apiKeys, definitionForms];

export function registerPages(router: Router, deps: AppDeps): void {
  for (const module of pageModules) module.register(router, deps);
}
