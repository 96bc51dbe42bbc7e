// What a job definition refers to must exist when it is saved (reports, recording export jobs, campaigns,
// destinations), and a step that needs a file must have one coming: each problem names the field.
import type { Sql } from '../../db/sql.js';
import { unknownExportFields } from '../contact-processes/export.js';
import type { JobStep, JobTrigger } from '../../contracts/job.js';
import { graphErrors, type GraphError } from '../../contracts/job-graph.js';

async function existing(sql: Sql, table: 'campaigns' | 'destinations', ids: string[]): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const rows = table === 'campaigns'
    ? await sql<{ id: string }[]>`select id::text from campaigns where id = any(${ids}::bigint[])`
    : await sql<{ id: string }[]>`select id::text from destinations where id = any(${ids}::bigint[])`;
  return new Set(rows.map((r) => r.id));
}

async function definitionsOf(sql: Sql, kind: string, ids: string[]): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const rows = await sql<{ id: string }[]>`select id::text from job_definitions where kind = ${kind} and id = any(${ids}::bigint[])`;
  return new Set(rows.map((r) => r.id));
}

/** Graph problems first (they make the rest meaningless), then missing references and files. */
export async function definitionErrors(sql: Sql, trigger: JobTrigger, steps: JobStep[]): Promise<GraphError[]> {
  const graph = graphErrors(steps);
  if (graph.length) return graph;
  const errors: GraphError[] = [];
  const campaignIds = steps.flatMap((s) => (s.kind === 'list-import' || s.kind === 'list-export' ? [s.campaignId] : []));
  if (trigger.kind === 'campaign-end') campaignIds.push(trigger.campaignId);
  const destinationIds = steps.flatMap((s) => (s.kind === 'copy' ? [s.destinationId] : s.kind === 'list-import' && s.source !== 'trigger-file' ? [s.source.destinationId] : []));
  for (const s of steps) if (s.kind === 'list-export' && s.destinationId) destinationIds.push(s.destinationId);
  if (trigger.kind === 'file-arrival') destinationIds.push(trigger.destinationId);
  const jobIdsOf = (kind: 'recording-export' | 'results-export' | 'salesforce-export') =>
    definitionsOf(sql, kind, steps.flatMap((s) => (s.kind === kind ? [s.jobId] : [])));
  const [campaigns, destinations, reports, exports, resultsExports, salesforceExports] = await Promise.all([
    existing(sql, 'campaigns', campaignIds), existing(sql, 'destinations', destinationIds),
    definitionsOf(sql, 'report', steps.flatMap((s) => (s.kind === 'report' ? [s.reportId] : []))),
    jobIdsOf('recording-export'), jobIdsOf('results-export'), jobIdsOf('salesforce-export'),
  ]);
  if (trigger.kind === 'campaign-end' && !campaigns.has(trigger.campaignId)) errors.push({ path: 'trigger.campaignId', message: `campaign ${trigger.campaignId} does not exist` });
  if (trigger.kind === 'file-arrival' && !destinations.has(trigger.destinationId)) errors.push({ path: 'trigger.destinationId', message: `destination ${trigger.destinationId} does not exist` });
  const fileFromTrigger = trigger.kind === 'file-arrival';
  steps.forEach((step, i) => {
    const at = `steps.${i}`;
    if (step.kind === 'report' && !reports.has(step.reportId)) errors.push({ path: `${at}.reportId`, message: `step "${step.name}": report ${step.reportId} does not exist` });
    if (step.kind === 'recording-export' && !exports.has(step.jobId)) errors.push({ path: `${at}.jobId`, message: `step "${step.name}": recording export job ${step.jobId} does not exist` });
    if (step.kind === 'results-export' && !resultsExports.has(step.jobId)) errors.push({ path: `${at}.jobId`, message: `step "${step.name}": results export job ${step.jobId} does not exist` });
    if (step.kind === 'salesforce-export' && !salesforceExports.has(step.jobId)) errors.push({ path: `${at}.jobId`, message: `step "${step.name}": Salesforce export job ${step.jobId} does not exist` });
    if (step.kind === 'list-import') {
      if (!campaigns.has(step.campaignId)) errors.push({ path: `${at}.campaignId`, message: `step "${step.name}": campaign ${step.campaignId} does not exist` });
      if (step.source === 'trigger-file' && !fileFromTrigger) errors.push({ path: `${at}.source`, message: `step "${step.name}" imports the trigger's file, but only a file-arrival trigger brings one; give a { destinationId, path }` });
      if (step.source !== 'trigger-file' && !destinations.has(step.source.destinationId)) errors.push({ path: `${at}.source.destinationId`, message: `step "${step.name}": destination ${step.source.destinationId} does not exist` });
    }
    if (step.kind === 'list-export') {
      if (!campaigns.has(step.campaignId)) errors.push({ path: `${at}.campaignId`, message: `step "${step.name}": campaign ${step.campaignId} does not exist` });
      if (step.destinationId && !destinations.has(step.destinationId)) errors.push({ path: `${at}.destinationId`, message: `step "${step.name}": destination ${step.destinationId} does not exist` });
    }
    if (step.kind === 'copy' && !destinations.has(step.destinationId)) errors.push({ path: `${at}.destinationId`, message: `step "${step.name}": destination ${step.destinationId} does not exist` });
    const needsFile = step.kind === 'copy' || (step.kind === 'email' && step.attach === 'previous');
    if (needsFile && i === 0 && !fileFromTrigger) errors.push({ path: at, message: `step "${step.name}" passes on the previous step's file, but it is the first step and the trigger brings no file` });
  });
  await Promise.all(steps.map(async (step, i) => {
    if (step.kind !== 'list-export' || !campaigns.has(step.campaignId)) return;
    const fields = (step.fields as string[] | undefined) ?? [];
    for (const field of await unknownExportFields(sql, step.campaignId, fields)) {
      errors.push({ path: `steps.${i}.fields.${fields.indexOf(field)}`, message: `step "${step.name}": unknown export field "${field}" (neither a standard field nor a custom field of campaign ${step.campaignId}'s contacts)` });
    }
  }));
  return errors;
}
