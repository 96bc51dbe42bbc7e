// The whole synthetic dataset: campaigns, each with a calling list, contacts, phones, call attempts and
// interactions with content. Deterministic: the same options give the same rows and the same bytes.
import type { Sql } from '../../db/sql.js';
import type { ContentStore } from '../content-store/types.js';
import { createCallingList, createCampaign, reserveIds, type Id } from './campaigns.js';
import { copyContacts, phoneNumber } from './contacts.js';
import type { Channel, Direction, InteractionInput } from './interaction-plan.js';
import { insertInteractions } from './interactions.js';
import { createRng, deriveSeed, weightedTable } from './prng.js';
import { voiceTranscript } from './texts.js';
import {
  AGENT_COUNT, CAMPAIGN_WORDS, DISPOSITIONS, EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, TIMEZONES, agentName,
} from './vocabulary.js';

export interface GenerateOptions {
  seed: number;
  campaigns: number;
  contactsPerCampaign: number;
  attemptsPerContact: number;
  interactionsPerCampaign: number;
  from: Date;
  to: Date;
  /** Store recordings, transcripts and messages (default true); without, interactions have no content rows. */
  withContent?: boolean;
  onProgress?: (message: string) => void;
}

export interface GenerateSummary {
  campaignIds: Id[];
  campaigns: number; callingLists: number; contacts: number; phones: number; attempts: number;
  interactions: number; segments: number; contentItems: number; contentBytes: number;
}

const INTERACTION_BATCH = 50;

function checkOptions(o: GenerateOptions): void {
  const counts = ['campaigns', 'contactsPerCampaign', 'attemptsPerContact', 'interactionsPerCampaign'] as const;
  for (const name of counts) {
    if (!Number.isInteger(o[name]) || o[name] < 0) throw new Error(`generate: ${name} must be a whole number ≥ 0; got ${o[name]}.`);
  }
  if (!Number.isInteger(o.seed)) throw new Error(`generate: seed must be an integer; got ${o.seed}.`);
  if (!(o.from instanceof Date) || !(o.to instanceof Date) || Number.isNaN(o.from.getTime()) || Number.isNaN(o.to.getTime()) || o.from >= o.to) {
    throw new Error(`generate: from and to must be valid dates with from before to; got ${o.from} .. ${o.to}.`);
  }
}

export async function generate(sql: Sql, store: ContentStore | null, options: GenerateOptions): Promise<GenerateSummary> {
  checkOptions(options);
  if ((options.withContent ?? true) && options.interactionsPerCampaign > 0 && !store) {
    throw new Error('generate: a content store is needed for interaction content (or pass withContent: false).');
  }
  const summary: GenerateSummary = {
    campaignIds: [], campaigns: 0, callingLists: 0, contacts: 0, phones: 0, attempts: 0,
    interactions: 0, segments: 0, contentItems: 0, contentBytes: 0,
  };
  for (let c = 0; c < options.campaigns; c++) await generateCampaign(sql, store, options, c, summary);
  return summary;
}

/** Campaign c with its calling list, contacts, phones, attempts and interactions; adds to the summary. */
async function generateCampaign(sql: Sql, store: ContentStore | null, options: GenerateOptions, c: number, summary: GenerateSummary): Promise<void> {
  const progress = options.onProgress ?? (() => {});
  const rng = createRng(options.seed, c, 'campaign');
  const name = `${rng.pick(CAMPAIGN_WORDS.first)} ${rng.pick(CAMPAIGN_WORDS.second)} ${options.seed}-${c + 1}`;
  const campaignId = await createCampaign(sql, { name, timezone: rng.pick(TIMEZONES), createdAt: options.from });
  const listId = await createCallingList(sql, { campaignId, name: `${name} list`, createdAt: options.from });
  summary.campaignIds.push(campaignId);
  summary.campaigns++;
  summary.callingLists++;
  if (options.contactsPerCampaign > 0) {
    const batch = { ...options, campaignIndex: c, campaignId, listId, contacts: options.contactsPerCampaign };
    const counts = await copyContacts(sql, batch, await reserveIds(sql, 'contacts', batch.contacts));
    summary.contacts += counts.contacts;
    summary.phones += counts.phones;
    summary.attempts += counts.attempts;
    progress(`campaign ${name}: ${counts.contacts} contacts, ${counts.phones} phones, ${counts.attempts} attempts`);
  }
  for (let i = 0; i < options.interactionsPerCampaign; i += INTERACTION_BATCH) {
    const inputs: InteractionInput[] = [];
    for (let k = i; k < Math.min(options.interactionsPerCampaign, i + INTERACTION_BATCH); k++) {
      inputs.push(interactionAt(options, c, campaignId, k));
    }
    for (const inserted of await insertInteractions(sql, store, inputs, { withContent: options.withContent ?? true })) {
      summary.interactions++;
      summary.segments += inserted.segments.length;
      summary.contentItems += inserted.content.length;
      summary.contentBytes += inserted.content.reduce((n, item) => n + item.sizeBytes, 0);
    }
  }
  if (options.interactionsPerCampaign > 0) progress(`campaign ${name}: ${options.interactionsPerCampaign} interactions`);
}

const CHANNELS = weightedTable<Channel>([['voice', 80], ['chat', 12], ['email', 8]]);
const VOICE_DIRECTIONS = weightedTable<Direction>([['outbound', 65], ['inbound', 33], ['internal', 2]]);
const AGENTS_PER_CALL = weightedTable([[1, 70], [2, 22], [3, 8]]);

/** Interaction k of campaign c: a call (mostly), a chat or an e-mail inside [from, to]. */
export function interactionAt(options: Pick<GenerateOptions, 'seed' | 'from' | 'to'>, c: number, campaignId: Id, k: number): InteractionInput {
  const rng = createRng(options.seed, c, 'interaction', k);
  const channel = rng.weighted(CHANNELS);
  const span = options.to.getTime() - options.from.getTime();
  const seconds = channel === 'voice' ? rng.int(20, 1200) : channel === 'chat' ? rng.int(120, 1800) : rng.int(0, 5);
  const durationMs = Math.min(span, seconds * 1000);
  const start = options.from.getTime() + Math.floor(rng.next() * (span - durationMs));
  const agentCount = channel === 'email' ? 1 : rng.weighted(AGENTS_PER_CALL);
  const agents: string[] = [];
  while (agents.length < agentCount) {
    const agent = agentName(rng.int(1, AGENT_COUNT));
    if (!agents.includes(agent)) agents.push(agent);
  }
  const address = `${rng.pick(FIRST_NAMES)}.${rng.pick(LAST_NAMES)}@${rng.pick(EMAIL_DOMAINS)}`.toLowerCase();
  const startedAt = new Date(start);
  return {
    campaignId,
    seed: deriveSeed(options.seed, c, 'content', k),
    channel,
    direction: channel === 'voice' ? rng.weighted(VOICE_DIRECTIONS) : channel === 'chat' ? 'inbound' : rng.chance(0.7) ? 'inbound' : 'outbound',
    startedAt,
    endedAt: new Date(start + durationMs),
    customerPhone: channel === 'voice' ? phoneNumber(rng) : null,
    customerAddress: channel === 'voice' ? null : address,
    agents,
    disposition: rng.weighted(DISPOSITIONS),
    voiceSignature: channel === 'voice' && rng.chance(0.1),
    recordingMs: rng.int(400, 4000),
    text: channel === 'voice' && rng.chance(0.4) ? voiceTranscript(rng, agents, startedAt) : undefined,
  };
}
