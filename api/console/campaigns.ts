// The campaigns a form offers (a select of names; the API takes ids).
import type { ConsoleApi } from './api-client.js';
import { selectField } from './html.js';

export interface CampaignOption { id: string; name: string }

export async function campaignOptions(api: ConsoleApi): Promise<CampaignOption[]> {
  const { items } = await api.get<{ items: CampaignOption[] }>('/campaigns', { limit: '500' });
  return items;
}

export function campaignSelect(campaigns: CampaignOption[], selected?: string, options: { any?: boolean; name?: string } = {}) {
  const choices: [string, string][] = campaigns.map((c) => [c.id, c.name]);
  return selectField('Campaign', options.name ?? 'campaignId', options.any ? [['', 'any'], ...choices] : choices, selected, { required: !options.any });
}
