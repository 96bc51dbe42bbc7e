import type { ActivityDeps } from './deps.js';

export function createResultsExportActivities(_deps: ActivityDeps) {
  return {};
}
