// A blacklist URI (seed 001 "Blacklists": "Phone number or email address"): a phone number is kept as its digits
// with a leading + when given (spaces, dots, dashes and parentheses dropped) and matched on its digits; an e-mail
// address is kept and matched lowercased. Anything else is not an entry.
import { z } from 'zod';

export interface BlacklistUri { kind: 'phone' | 'email'; uri: string; matchKey: string }

const PHONE = /^\+?[0-9][0-9 ().-]{2,29}$/;
const email = z.email();

/** The normalized entry, or null when `raw` is neither a phone number nor an e-mail address. */
export function parseBlacklistUri(raw: string): BlacklistUri | null {
  const text = raw.trim().replace(/^(tel|mailto):/i, '');
  if (PHONE.test(text)) {
    const digits = text.replace(/[^0-9]/g, '');
    if (digits.length < 3 || digits.length > 20) return null;
    return { kind: 'phone', uri: `${text.startsWith('+') ? '+' : ''}${digits}`, matchKey: digits };
  }
  if (text.length <= 320 && email.safeParse(text).success) {
    const lower = text.toLowerCase();
    return { kind: 'email', uri: lower, matchKey: lower };
  }
  return null;
}

export const BLACKLIST_URI_RULE = 'must be a phone number (digits, optionally with +, spaces, dots, dashes or parentheses) or an e-mail address';
