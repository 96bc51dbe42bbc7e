// A report definition as stored in job_definitions (kind 'report', config jsonb). Shared by the API,
// which validates and saves it, and the activities, which read it at every run.
import type { Timeframe } from './timeframes.js';

export const REPORT_TYPES = ['all-attempts', 'best-contact', 'summary'] as const;
export type ReportType = (typeof REPORT_TYPES)[number];

/** The report type as named in file names (<REPORT>) and e-mails. */
export const REPORT_TITLES: Record<ReportType, string> = {
  'all-attempts': 'All Attempts',
  'best-contact': 'Best Contact',
  summary: 'Summary',
};

export interface ReportOutput {
  destinationIds: string[];
  emails: string[];
  fileNameFormat?: string;
  zip: boolean;
  pgpKeyId?: string | null;
  skipIfEmpty: boolean;
}

export interface ReportConfig {
  type: ReportType;
  timeframe: Timeframe;
  output: ReportOutput;
  /** The seed crontab string (GMT, day-of-week 1-7 Monday = 1) and its Temporal equivalent. */
  schedule?: { cron: string; temporalCron: string } | null;
}

export interface ReportDefinition {
  id: string;
  name: string;
  enabled: boolean;
  campaignId: string;
  campaignName: string;
  campaignCreatedAt: Date;
  config: ReportConfig;
}

export const SAVED_REPORT_DAYS = 30;
