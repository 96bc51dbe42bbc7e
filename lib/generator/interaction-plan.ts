// What one interaction consists of before it is written: its agent segments and its content items.
// Content bytes are produced on demand from the interaction's seed, so nothing large is kept around.
import { createRng } from './prng.js';
import { chatTranscript, emailMessage } from './texts.js';
import { makePcm, splitPcm, wavFromPcm } from './wav.js';

export type Channel = 'voice' | 'chat' | 'email';
export type Direction = 'inbound' | 'outbound' | 'internal';
export type ContentKind = 'voice-recording' | 'voice-transcript' | 'chat-transcript' | 'email-message' | 'screen-recording';

export interface InteractionInput {
  campaignId: string | number | bigint;
  /** Seeds the recording's sound, the segment split and generated texts. */
  seed: number;
  channel?: Channel;
  direction?: Direction;
  startedAt: Date;
  endedAt: Date;
  customerPhone?: string | null;
  customerAddress?: string | null;
  /** In handling order, first to last; one segment per agent. */
  agents: readonly string[];
  disposition?: string | null;
  voiceSignature?: boolean;
  /** Length of the complete call's WAV (voice); default 1500 ms. The segments are pieces of it. */
  recordingMs?: number;
  /** Voice: the transcript (none when absent). Chat and email: the transcript / message (generated when absent). */
  text?: string | null;
}

export interface SegmentPlan { n: number; agent: string; startedAt: Date; endedAt: Date }
export interface ContentPlan { kind: ContentKind; segment: number | null; completedAt: Date; bytes(): Buffer }

export function checkInteraction(input: InteractionInput): void {
  const problem =
    !(input.startedAt instanceof Date) || Number.isNaN(input.startedAt.getTime()) ? 'startedAt must be a valid Date'
    : !(input.endedAt instanceof Date) || Number.isNaN(input.endedAt.getTime()) ? 'endedAt must be a valid Date'
    : input.endedAt < input.startedAt ? 'endedAt must not be before startedAt'
    : input.agents.length === 0 ? 'at least one agent is needed (agents in handling order)'
    : input.agents.some((a) => !a) ? 'agent names must not be empty'
    : !Number.isInteger(input.seed) ? 'seed must be an integer'
    : undefined;
  if (problem) throw new Error(`Interaction of campaign ${input.campaignId}: ${problem}.`);
}

/** Consecutive segments covering the call, one per agent, of seeded unequal lengths. */
export function planSegments(input: InteractionInput): { segments: SegmentPlan[]; weights: number[] } {
  const rng = createRng(input.seed, 'segments');
  const weights = input.agents.map(() => rng.int(1, 4));
  const total = weights.reduce((a, b) => a + b, 0);
  const start = input.startedAt.getTime();
  const span = input.endedAt.getTime() - start;
  let acc = 0;
  const segments = input.agents.map((agent, i) => {
    const from = start + Math.round((span * acc) / total);
    acc += weights[i];
    const to = i === input.agents.length - 1 ? start + span : start + Math.round((span * acc) / total);
    return { n: i + 1, agent, startedAt: new Date(from), endedAt: new Date(to) };
  });
  return { segments, weights };
}

function textBytes(text: string): () => Buffer {
  return () => Buffer.from(text, 'utf8');
}

export function planContent(input: InteractionInput, segments: SegmentPlan[], weights: number[]): ContentPlan[] {
  const channel = input.channel ?? 'voice';
  const endedAt = input.endedAt;
  if (channel === 'chat') {
    const text = input.text ?? chatTranscript(createRng(input.seed, 'chat'), input.agents, input.startedAt);
    return [{ kind: 'chat-transcript', segment: null, completedAt: endedAt, bytes: textBytes(text) }];
  }
  if (channel === 'email') {
    const text = input.text ?? emailMessage(createRng(input.seed, 'email'), {
      from: input.customerAddress ?? 'customer@example.com', to: `${input.agents[0]}@contact-center.example`,
      sentAt: input.startedAt, subjectId: input.seed >>> 0,
    });
    return [{ kind: 'email-message', segment: null, completedAt: endedAt, bytes: textBytes(text) }];
  }
  const wav = { seed: input.seed, durationMs: input.recordingMs ?? 1500 };
  const items: ContentPlan[] = [
    { kind: 'voice-recording', segment: null, completedAt: endedAt, bytes: () => wavFromPcm(makePcm(wav)) },
    ...segments.map((s, i): ContentPlan => ({
      kind: 'voice-recording', segment: s.n, completedAt: s.endedAt,
      bytes: () => wavFromPcm(splitPcm(makePcm(wav), weights)[i]),
    })),
  ];
  if (input.text) items.push({ kind: 'voice-transcript', segment: null, completedAt: endedAt, bytes: textBytes(input.text) });
  return items;
}
