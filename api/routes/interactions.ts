// Interactions (calls, chats, e-mails): metadata ingest and the read view with the state of each content
// item. The content bytes arrive separately (interaction-content.ts).
import { z } from 'zod';
import type { AppDeps } from '../app.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { badRequest, notFound } from '../problem.js';
import { id, idParams, iso, isoDateTime } from '../schemas.js';
import { phoneNumber } from './contacts.js';

export const CONTENT_KINDS = ['voice-recording', 'voice-transcript', 'chat-transcript', 'email-message', 'screen-recording'] as const;

const ended = <T extends { startedAt: string; endedAt: string }>(value: T) => Date.parse(value.endedAt) >= Date.parse(value.startedAt);
const agent = z.string().trim().min(1).max(100);

const interactionInput = z.object({
  campaignId: id,
  channel: z.enum(['voice', 'chat', 'email']),
  direction: z.enum(['inbound', 'outbound', 'internal']),
  startedAt: isoDateTime,
  endedAt: isoDateTime,
  customerPhone: phoneNumber.optional(),
  customerAddress: z.string().max(320).optional(),
  agents: z.array(agent).max(50).describe('usernames in handling order: first .. last'),
  disposition: z.string().max(100).optional(),
  voiceSignature: z.boolean().default(false),
  segments: z.array(z.object({ agent, startedAt: isoDateTime, endedAt: isoDateTime })
    .refine(ended, { message: 'endedAt must not be before startedAt', path: ['endedAt'] })).max(100).default([])
    .describe('agent segments in order; segment n is the n-th (0-based)'),
}).refine(ended, { message: 'endedAt must not be before startedAt', path: ['endedAt'] });

const contentState = z.object({
  present: z.boolean(), sizeBytes: z.number().nullable(), sha256: z.string().nullable(),
  completedAt: z.string().nullable(), erasedAt: z.string().optional(), exportedTo: z.string().optional(),
  expiredAt: z.string().optional().describe('removed from the content store after the storage time (RECORDING_STORAGE_DAYS); the metadata stays'),
});

const interaction = z.object({
  id: z.string(), campaignId: z.string(), channel: z.string(), direction: z.string(), startedAt: z.string(), endedAt: z.string(),
  customerPhone: z.string().nullable(), customerAddress: z.string().nullable(), agents: z.array(z.string()),
  disposition: z.string().nullable(), voiceSignature: z.boolean(),
  content: z.record(z.enum(CONTENT_KINDS), contentState).describe('per kind; the voice recording here is the complete call'),
  segments: z.array(z.object({ n: z.number().int(), agent: z.string(), startedAt: z.string(), endedAt: z.string(), recording: contentState })),
}).meta({ id: 'Interaction' });

interface ContentRow { kind: (typeof CONTENT_KINDS)[number]; segment: number | null; store_key: string | null; size_bytes: string | null; sha256: string | null; completed_at: Date; erased_at: Date | null; exported_to: string | null; expired_at: Date | null }

const absent: z.input<typeof contentState> = { present: false, sizeBytes: null, sha256: null, completedAt: null };

function contentStateOf(row: ContentRow | undefined): z.input<typeof contentState> {
  if (!row) return absent;
  return {
    present: row.store_key !== null, sizeBytes: row.size_bytes === null ? null : Number(row.size_bytes), sha256: row.sha256,
    completedAt: iso(row.completed_at),
    ...(row.erased_at ? { erasedAt: iso(row.erased_at)! } : {}),
    ...(row.exported_to ? { exportedTo: row.exported_to } : {}),
    ...(row.expired_at ? { expiredAt: iso(row.expired_at)! } : {}),
  };
}

export function register(r: RouteRegistry, { sql }: AppDeps) {
  defineRoute(r, {
    method: 'post', path: '/interactions', role: 'operator', status: 201, body: interactionInput,
    response: z.object({ id: z.string() }),
    summary: 'Record an interaction (its content is uploaded with the PUT endpoints)',
    example: {
      body: {
        campaignId: '1', channel: 'voice', direction: 'outbound', startedAt: '2025-03-01T14:00:00-05:00', endedAt: '2025-03-01T14:06:30-05:00',
        customerPhone: '+15551234567', agents: ['alice', 'bob'], disposition: 'Sale', voiceSignature: true,
        segments: [{ agent: 'alice', startedAt: '2025-03-01T14:00:00-05:00', endedAt: '2025-03-01T14:03:00-05:00' }],
      },
      response: { id: '1' },
    },
  }, async ({ body }) => {
    const [campaign] = await sql`select 1 from campaigns where id = ${body.campaignId}`;
    if (!campaign) throw badRequest(`Campaign ${body.campaignId} does not exist.`, [{ path: 'campaignId', message: 'no such campaign' }]);
    const created = await sql.begin(async (tx) => {
      const [row] = await tx<{ id: string }[]>`
        insert into interactions (campaign_id, channel, direction, started_at, ended_at, customer_phone, customer_address,
                                  agents, disposition, voice_signature)
        values (${body.campaignId}, ${body.channel}, ${body.direction}, ${body.startedAt}, ${body.endedAt},
                ${body.customerPhone ?? null}, ${body.customerAddress ?? null}, ${body.agents}, ${body.disposition ?? null},
                ${body.voiceSignature})
        returning id`;
      if (body.segments.length) {
        const segments = body.segments.map((s, n) => ({ n, agent: s.agent, started_at: s.startedAt, ended_at: s.endedAt }));
        await tx`
          insert into interaction_segments (interaction_id, n, agent, started_at, ended_at)
          select ${row.id}, s.n, s.agent, s.started_at, s.ended_at
          from jsonb_to_recordset(${tx.json(segments)}) as s(n int, agent text, started_at timestamptz, ended_at timestamptz)`;
      }
      return row;
    });
    return { id: created.id };
  });

  defineRoute(r, {
    method: 'get', path: '/interactions/{id}', role: 'viewer', params: idParams, response: interaction,
    summary: 'An interaction: metadata, segments, and the state of each content item',
    example: {
      response: {
        id: '5120', campaignId: '1', channel: 'voice', direction: 'outbound', startedAt: '2025-03-01T19:00:00.000Z', endedAt: '2025-03-01T19:06:30.000Z',
        customerPhone: '+15125550142', customerAddress: null, agents: ['jsmith', 'mlee'], disposition: 'Sale', voiceSignature: true,
        content: {
          'voice-recording': { present: true, sizeBytes: 6240044, sha256: '3b1f0c5e…', completedAt: '2025-03-01T19:06:30.000Z', exportedTo: 'Provider SFTP:/incoming/recordings/2025-03-01/19/2025-03-01_190000_15125550142_jsmith_5120.wav' },
          'voice-transcript': { present: false, sizeBytes: null, sha256: null, completedAt: null },
          'chat-transcript': { present: false, sizeBytes: null, sha256: null, completedAt: null },
          'email-message': { present: false, sizeBytes: null, sha256: null, completedAt: null },
          'screen-recording': { present: false, sizeBytes: null, sha256: null, completedAt: null },
        },
        segments: [
          { n: 0, agent: 'jsmith', startedAt: '2025-03-01T19:00:00.000Z', endedAt: '2025-03-01T19:04:10.000Z', recording: { present: true, sizeBytes: 4000044, sha256: '9a4e77d2…', completedAt: '2025-03-01T19:04:10.000Z' } },
          { n: 1, agent: 'mlee', startedAt: '2025-03-01T19:04:10.000Z', endedAt: '2025-03-01T19:06:30.000Z', recording: { present: false, sizeBytes: null, sha256: null, completedAt: null } },
        ],
      },
    },
  }, async ({ params }) => {
    const [row] = await sql<{
      id: string; campaign_id: string; channel: string; direction: string; started_at: Date; ended_at: Date; customer_phone: string | null;
      customer_address: string | null; agents: string[]; disposition: string | null; voice_signature: boolean;
    }[]>`select * from interactions where id = ${params.id}`;
    if (!row) throw notFound(`Interaction ${params.id} does not exist.`);
    const [segments, content] = await Promise.all([
      sql<{ n: number; agent: string; started_at: Date; ended_at: Date }[]>`
        select n, agent, started_at, ended_at from interaction_segments where interaction_id = ${params.id} order by n`,
      sql<ContentRow[]>`
        select kind, segment, store_key, size_bytes, sha256, completed_at, erased_at, exported_to, expired_at
        from interaction_content where interaction_id = ${params.id}`,
    ]);
    const whole = (kind: string) => content.find((c) => c.kind === kind && c.segment === null);
    return {
      id: row.id, campaignId: row.campaign_id, channel: row.channel, direction: row.direction,
      startedAt: iso(row.started_at)!, endedAt: iso(row.ended_at)!, customerPhone: row.customer_phone,
      customerAddress: row.customer_address, agents: row.agents, disposition: row.disposition, voiceSignature: row.voice_signature,
      content: Object.fromEntries(CONTENT_KINDS.map((kind) => [kind, contentStateOf(whole(kind))])) as Record<(typeof CONTENT_KINDS)[number], z.input<typeof contentState>>,
      segments: segments.map((s) => ({
        n: s.n, agent: s.agent, startedAt: iso(s.started_at)!, endedAt: iso(s.ended_at)!,
        recording: contentStateOf(content.find((c) => c.kind === 'voice-recording' && c.segment === s.n)),
      })),
    };
  });
}
