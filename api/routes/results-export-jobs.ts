import type { AppDeps } from '../app.js';
import type { RouteRegistry } from '../openapi.js';

export function registerResultsExportJobs(_r: RouteRegistry, _deps: AppDeps): void {}
