// The provider's daily export time window ("23:00-06:00 America/Los_Angeles"): wall-clock times in a zone,
// possibly crossing midnight. The arithmetic is done on local dates with luxon, so a DST change day is
// simply a day that is 23 or 25 hours long; a boundary that falls in the skipped spring-forward hour moves
// forward by the skipped hour (02:30 becomes 03:30), as luxon does.
import { DateTime, IANAZone } from 'luxon';

export interface ExportWindow { start: number; end: number; zone: string; text: string } // minutes after midnight

export interface WindowState {
  open: boolean;
  /** When closed: the next opening. */
  opensAt: Date | null;
  /** When open: the instant it closes (null when there is no window: always open). */
  closesAt: Date | null;
}

const FORMAT = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s+(\S+)\s*$/;

/** Parses `HH:MM-HH:MM Zone`; undefined or empty means no window (always open). Throws naming the problem. */
export function parseExportWindow(text: string | undefined | null): ExportWindow | null {
  if (!text || !text.trim()) return null;
  const match = FORMAT.exec(text);
  if (!match) {
    throw new Error(`export window ${JSON.stringify(text)} is not "HH:MM-HH:MM Zone", e.g. "23:00-06:00 America/Los_Angeles"`);
  }
  const [, sh, sm, eh, em, zone] = match;
  const minutes = (h: string, m: string) => {
    const value = Number(h) * 60 + Number(m);
    if (Number(h) > 23 || Number(m) > 59) throw new Error(`export window ${JSON.stringify(text)}: ${h}:${m} is not a time of day (00:00-23:59)`);
    return value;
  };
  const start = minutes(sh, sm);
  const end = minutes(eh, em);
  if (!IANAZone.isValidZone(zone)) throw new Error(`export window ${JSON.stringify(text)}: ${zone} is not an IANA time zone, e.g. America/Los_Angeles`);
  if (start === end) throw new Error(`export window ${JSON.stringify(text)} starts and ends at the same time; leave EXPORT_WINDOW unset for "always open"`);
  return { start, end, zone, text: text.trim() };
}

/** The instant a local time of day happens on a local date (a skipped DST time moves forward by the gap). */
function at(day: DateTime, minutesOfDay: number): DateTime {
  return day.startOf('day').set({ hour: Math.floor(minutesOfDay / 60), minute: minutesOfDay % 60 });
}

/** The window occurrences overlapping `now`'s local day, yesterday's included for windows crossing midnight. */
function occurrences(window: ExportWindow, now: DateTime): { from: DateTime; to: DateTime }[] {
  const crosses = window.end < window.start;
  const days = [-1, 0, 1].map((offset) => now.plus({ days: offset }));
  return days.map((day) => ({ from: at(day, window.start), to: at(crosses ? day.plus({ days: 1 }) : day, window.end) }));
}

/** Is the window open at `now`, and when does it close or open next. */
export function windowState(window: ExportWindow | null, now: Date): WindowState {
  if (!window) return { open: true, opensAt: null, closesAt: null };
  const local = DateTime.fromJSDate(now, { zone: window.zone });
  const list = occurrences(window, local);
  const current = list.find((o) => local >= o.from && local < o.to);
  if (current) return { open: true, opensAt: null, closesAt: current.to.toJSDate() };
  const next = list.find((o) => o.from > local)!;
  return { open: false, opensAt: next.from.toJSDate(), closesAt: null };
}

/** The next instant the window opens (now, when it is open). */
export function nextWindowOpening(window: ExportWindow | null, now: Date): Date {
  const state = windowState(window, now);
  return state.open ? now : state.opensAt!;
}

/** When the window that is open at `now` closes; null when it is closed now or there is no window. */
export function windowCloses(window: ExportWindow | null, now: Date): Date | null {
  return windowState(window, now).closesAt;
}
