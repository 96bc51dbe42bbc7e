// Text content of synthetic interactions: voice transcripts, chat transcripts and e-mail messages.
import type { Rng } from './prng.js';
import { PHRASES } from './vocabulary.js';

function clock(at: Date): string {
  return at.toISOString().slice(11, 19);
}

function dialogue(rng: Rng, agents: readonly string[], startedAt: Date, render: (at: Date, who: string, text: string) => string): string {
  const lines: string[] = [];
  let at = startedAt.getTime();
  const turns = rng.int(4, 10);
  for (let turn = 0; turn < turns; turn++) {
    const agentTurn = turn % 2 === 0;
    const who = agentTurn ? agents[Math.min(agents.length - 1, Math.floor((turn * agents.length) / turns))] : 'customer';
    lines.push(render(new Date(at), who, rng.pick(agentTurn ? PHRASES.agent : PHRASES.customer)));
    at += rng.int(3, 40) * 1000;
  }
  return lines.join('\n') + '\n';
}

export function voiceTranscript(rng: Rng, agents: readonly string[], startedAt: Date): string {
  return dialogue(rng, agents, startedAt, (at, who, text) => `${clock(at)} ${who === 'customer' ? 'Customer' : `Agent (${who})`}: ${text}`);
}

export function chatTranscript(rng: Rng, agents: readonly string[], startedAt: Date): string {
  return dialogue(rng, agents, startedAt, (at, who, text) => `[${at.toISOString()}] ${who}: ${text}`);
}

export function emailMessage(rng: Rng, input: { from: string; to: string; sentAt: Date; subjectId: number }): string {
  const body = [rng.pick(PHRASES.customer), rng.pick(PHRASES.customer), rng.pick(PHRASES.agent)].join('\r\n\r\n');
  return [
    `From: ${input.from}`,
    `To: ${input.to}`,
    `Subject: Your request #${input.subjectId}`,
    `Date: ${input.sentAt.toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\r\n');
}
