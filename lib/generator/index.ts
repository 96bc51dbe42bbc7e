// Synthetic contact-center data for demos, tests and benchmarks (SPEC "The domain").
export { generate, interactionAt, type GenerateOptions, type GenerateSummary } from './generate.js';
export { createCampaign, createCallingList, reserveIds, type CampaignInput, type Id } from './campaigns.js';
export { insertInteraction, insertInteractions, type InsertedContent, type InsertedInteraction, type InsertOptions } from './interactions.js';
export type { Channel, ContentKind, Direction, InteractionInput, SegmentPlan } from './interaction-plan.js';
export { contactAt, attemptsOf, copyContacts, type Contact, type Attempt, type Phone } from './contacts.js';
export { makeWav, makePcm, wavFromPcm, splitPcm, parseWav, WAV_SAMPLE_RATE, type WavInfo } from './wav.js';
export { createRng, deriveSeed } from './prng.js';
