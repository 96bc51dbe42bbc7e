// Campaign triggers (seed 000 "Campaign trigger", steps start/stop): a campaign's automatic start and stop
// schedules, each running the campaignTrigger workflow, which sets the campaign's state. No I/O here.

export const CAMPAIGN_TRIGGER_WORKFLOW = 'campaignTrigger';
export const CAMPAIGN_TRIGGER_KIND = 'campaign-trigger';

export type CampaignTriggerAction = 'start' | 'stop';

export interface CampaignTriggerInput { definitionId: string; campaignId: string; action: CampaignTriggerAction }

export const campaignTriggerScheduledWorkflowIdPrefix = (campaignId: string, action: CampaignTriggerAction) => `campaign-trigger/${campaignId}/${action}`;
