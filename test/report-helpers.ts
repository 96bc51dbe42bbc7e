// Shared setup of the report tests: campaigns, attempts at chosen times, report definitions, starting a
// run through Temporal and reading the saved CSV back.
import { parse } from 'csv-parse/sync';
import { randomBytes } from 'node:crypto';
import type { Sql } from '../db/sql.js';
import type { ContentStore } from '../lib/content-store/types.js';
import { createCampaign } from '../lib/generator/index.js';
import type { ReportConfig, ReportOutput, ReportType } from '../lib/reports/definition.js';
import { getSavedReport } from '../lib/reports/definitions.js';
import type { Timeframe } from '../lib/reports/timeframes.js';
import { REPORT_WORKFLOW, type ReportRunInput, type ReportRunResult } from '../contracts/report.js';
import { runSearchAttributes } from '../contracts/search-attributes.js';
import type { TestEnv } from './harness/env.js';

export async function newCampaign(sql: Sql, createdAt = new Date('2024-01-01T00:00:00Z')): Promise<{ id: string; name: string }> {
  const name = `Reports ${randomBytes(3).toString('hex')}`;
  return { id: await createCampaign(sql, { name, timezone: 'UTC', createdAt }), name };
}

export interface AttemptSpec {
  clientId: string;
  status?: string;
  startedAt?: Date;
  completedAt: Date;
  /** When the platform recorded it; omitted = now (the column default). */
  collectedAt?: Date;
}

let phone = 1000;
export async function insertAttempts(sql: Sql, campaignId: string, specs: AttemptSpec[]): Promise<string[]> {
  const ids: string[] = [];
  for (const a of specs) {
    const started = a.startedAt ?? new Date(a.completedAt.getTime() - 60_000);
    const [row] = a.collectedAt
      ? await sql<{ id: string }[]>`
          insert into call_attempts (campaign_id, client_id, phone, started_at, completed_at, status, collected_at)
          values (${campaignId}, ${a.clientId}, ${`+1555000${phone++}`}, ${started}, ${a.completedAt}, ${a.status ?? 'DELIVEREDPERSON'}, ${a.collectedAt})
          returning id`
      : await sql<{ id: string }[]>`
          insert into call_attempts (campaign_id, client_id, phone, started_at, completed_at, status)
          values (${campaignId}, ${a.clientId}, ${`+1555000${phone++}`}, ${started}, ${a.completedAt}, ${a.status ?? 'DELIVEREDPERSON'})
          returning id`;
    ids.push(row.id);
  }
  return ids;
}

export async function createReportDefinition(sql: Sql, input: {
  campaignId: string; type?: ReportType; timeframe?: Timeframe; output?: Partial<ReportOutput>; name?: string;
}): Promise<string> {
  const config: ReportConfig = {
    type: input.type ?? 'all-attempts',
    timeframe: input.timeframe ?? { kind: 'incremental' },
    output: { destinationIds: [], emails: [], zip: false, skipIfEmpty: false, ...input.output },
    schedule: null,
  };
  const [row] = await sql<{ id: string }[]>`
    insert into job_definitions (kind, name, campaign_id, config)
    values ('report', ${input.name ?? `report ${randomBytes(4).toString('hex')}`}, ${input.campaignId}, ${sql.json(config as never)})
    returning id`;
  return row.id;
}

let runSeq = 0;
export function startReport(env: TestEnv, input: ReportRunInput, workflowId = `report/${input.definitionId}/test-${Date.now()}-${runSeq++}`) {
  return env.client.workflow.start(REPORT_WORKFLOW, {
    taskQueue: env.taskQueue, workflowId, args: [input],
    typedSearchAttributes: runSearchAttributes({ kind: 'report', definitionId: input.definitionId, triggeredBy: 'test' }),
  });
}

export async function runReport(env: TestEnv, input: ReportRunInput, workflowId?: string): Promise<ReportRunResult> {
  return (await startReport(env, input, workflowId)).result() as Promise<ReportRunResult>;
}

export async function readStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

export async function savedCsv(sql: Sql, store: ContentStore, savedReportId: string | null): Promise<Record<string, string>[]> {
  if (!savedReportId) return [];
  const saved = await getSavedReport(sql, savedReportId);
  if (!saved) throw new Error(`saved report ${savedReportId} not found`);
  return parse(await readStream(await store.get(saved.storeKey)), { columns: true }) as Record<string, string>[];
}

/** The client ids of a report's rows, sorted. */
export const clients = (rows: Record<string, string>[]) => rows.map((r) => r.ClientId).sort();

export const at = (iso: string) => new Date(iso);
export const minutes = (base: Date, n: number) => new Date(base.getTime() + n * 60_000);
