// The realistic-looking values the generator draws from, with their weights.
import { isCompletionStatus } from '../domain/completion-statuses.js';
import { weightedTable } from './prng.js';

export const TIMEZONES = [
  'America/Los_Angeles', 'America/Denver', 'America/Chicago', 'America/New_York', 'America/Phoenix',
  'Europe/London', 'Europe/Berlin', 'Europe/Madrid', 'Australia/Sydney',
] as const;

export const CAMPAIGN_WORDS = {
  first: ['Spring', 'Summer', 'Autumn', 'Winter', 'Priority', 'Retention', 'Loyalty', 'Welcome', 'Renewal', 'Premier'],
  second: ['Renewals', 'Collections', 'Outreach', 'Surveys', 'Upsell', 'Reminders', 'Win-back', 'Onboarding', 'Support', 'Sales'],
};

export const FIRST_NAMES = [
  'James', 'Mary', 'John', 'Patricia', 'Robert', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth',
  'William', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Carlos', 'Karen',
  'Daniel', 'Lisa', 'Matthew', 'Nancy', 'Anthony', 'Betty', 'Mark', 'Sandra', 'Luis', 'Ashley',
  'Wei', 'Aisha', 'Hans', 'Sofia', 'Kenji', 'Priya', 'Olga', 'Mateo', 'Chloe', 'Omar',
];

export const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
  'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson',
  'Chen', 'Khan', 'Schmidt', 'Rossi', 'Tanaka', 'Patel', 'Ivanova', 'Silva', 'Dubois', 'Haddad',
];

export const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net', 'mail.example.com'];

export const AREA_CODES = ['212', '206', '305', '312', '404', '415', '503', '617', '702', '713', '818', '972'];

export const SEGMENTS = weightedTable([['Retail', 40], ['SMB', 25], ['Gold', 15], ['Silver', 12], ['Platinum', 8]] as const);

export const CONTACT_STATUSES = weightedTable([
  ['Remaining', 50], ['Closed', 24], ['Callback', 8], ['Inactive', 8], ['Postponed', 6], ['Processing', 4],
] as const);

export const PHONE_STATES = weightedTable([['Active', 86], ['Inactive', 7], ['Blocked', 4], ['Excluded', 3]] as const);

export const DISPOSITIONS = weightedTable([
  ['Sale', 22], ['No Sale', 35], ['Callback', 18], ['Wrong Number', 8], ['Not Interested', 12], ['Do Not Call', 5],
] as const);

/** Attempt outcomes of a voice campaign, roughly as a dialer sees them. */
export const ATTEMPT_STATUSES = weightedTable([
  ['NOANSWER', 30], ['DELIVEREDPERSON', 20], ['DELIVEREDMACHINE', 14], ['BUSY', 8], ['MACHINE_HANGUP', 4],
  ['UNDELIVEREDMACHINE', 3], ['NOTCONNECTED', 3], ['CALL_BAD_NUMBER', 3], ['BADNUMBERUNASSIGNED', 2],
  ['DYNAMIC_MACHINE_HANGUP', 1.5], ['BADNUMBERFAX', 1], ['INBOUND_IVR_COMPLETED', 1], ['NEVER_TRIED', 1],
  ['DNC', 1], ['BLOCKED', 1], ['TMS_ERROR_PROVIDER', 0.8], ['TMS_ERROR_MEDIASERVER', 0.4],
  ['NOT_ATTEMPTED_SKIP', 0.5], ['EXCLUDED', 0.5], ['DUPLICATE', 0.3],
] as const);

/** Statuses where no call was placed: the attempt takes no time and reaches no one. */
export const NOT_DIALED = new Set(['NEVER_TRIED', 'DNC', 'BLOCKED', 'NOT_ATTEMPTED_SKIP', 'EXCLUDED', 'DUPLICATE']);

/** Statuses where an agent spoke to the contact, so the attempt carries an agent and a disposition. */
export const AGENT_HANDLED = new Set(['DELIVEREDPERSON', 'INBOUND_IVR_COMPLETED']);

export const AGENT_COUNT = 40;
export const agentName = (n: number): string => `agent${String(n).padStart(3, '0')}`;

export const PHRASES = {
  agent: [
    'Thank you for calling, how can I help you today?', 'Can you confirm your account number, please?',
    'I can see the payment was received yesterday.', 'Let me transfer you to a colleague who can help.',
    'Is there anything else I can do for you?', 'I have scheduled a callback for tomorrow morning.',
  ],
  customer: [
    'Hi, I am calling about my last bill.', 'Sure, it is on the letter I received.',
    'I would like to change my plan.', 'That works for me, thanks.', 'No, that is all. Have a nice day.',
    'Can you call me back later this week?',
  ],
};

for (const status of ATTEMPT_STATUSES.items) {
  if (!isCompletionStatus(status)) throw new Error(`generator vocabulary: ${status} is not a completion status of seed 003`);
}
