// File-name templates of the recording export (SPEC "Job 1"). Placeholders are written `${name}` (the
// recording template's style) or `$(name)` (the manifest's); both are accepted in both templates. A template
// is checked when the job is saved; rendering then cleans every value so the name is safe on every protocol:
// no `..`, no absolute path, only characters FTP, SFTP, S3 and local disks all store.

export const RECORDING_PLACEHOLDERS = [
  'callDate', 'callHour', 'callTime', 'customerPhone', 'agent', 'segmentAgent', 'disposition', 'campaign',
  'recordingId', 'interactionId',
] as const;
export const MANIFEST_PLACEHOLDERS = ['currentDate', 'currentTime', 'periodEndDate', 'jobId', 'runId'] as const;

// No customer phone number in the default name: a name in a destination's listing is personal data that
// no erasure reaches (the seed's default had one; `${customerPhone}` stays available).
export const DEFAULT_FILE_NAME_TEMPLATE =
  'recordings/${callDate}/${callHour}/${callDate}_${callTime}_${agent}_${recordingId}.wav';
export const DEFAULT_MANIFEST_TEMPLATE = 'recordings_details_$(currentDate)_$(currentTime)_job$(jobId)_$(runId).csv';

/** The content a job exports: voice recordings (complete calls or agent segments) or chat transcripts. */
export const EXPORT_CONTENT_TYPES = ['complete', 'agentSegments', 'chatTranscripts'] as const;
export type ExportContentType = (typeof EXPORT_CONTENT_TYPES)[number];

// Chat services (seed 000: "chat transcripts for chat services"): the manifest defaults to the vendor's
// `transcripts_details_…` name; under it an empty run uploads no manifest, so it never replaces another's.
export const DEFAULT_CHAT_FILE_NAME_TEMPLATE = 'transcripts/${callDate}/${callHour}/${callDate}_${callTime}_${agent}_${recordingId}.txt';
export const DEFAULT_CHAT_MANIFEST_TEMPLATE = 'transcripts_details_$(currentDate)_$(currentTime).csv';

/** The default file-name and manifest templates of a content type. */
export function defaultTemplates(contentType: ExportContentType): { fileName: string; manifest: string } {
  return contentType === 'chatTranscripts'
    ? { fileName: DEFAULT_CHAT_FILE_NAME_TEMPLATE, manifest: DEFAULT_CHAT_MANIFEST_TEMPLATE }
    : { fileName: DEFAULT_FILE_NAME_TEMPLATE, manifest: DEFAULT_MANIFEST_TEMPLATE };
}

const PLACEHOLDER = /\$\{([^}]*)\}|\$\(([^)]*)\)/g;
const MAX_PATH_LENGTH = 1024;
const MAX_SEGMENT_LENGTH = 255;

/** Problems with a template, as messages; empty when it is valid. */
export function validateTemplate(template: string, allowed: readonly string[]): string[] {
  const problems: string[] = [];
  const literal = template.replace(PLACEHOLDER, 'x');
  if (!template.trim()) problems.push('is empty');
  if (/^[/\\]/.test(template) || /^[A-Za-z]:/.test(template)) problems.push('is an absolute path; give a path relative to the destination folder');
  if (template.replaceAll('\\', '/').split('/').some((segment) => segment.trim() === '..')) {
    problems.push('contains a ".." segment; files must stay inside the destination folder');
  }
  if (/\$[{(]/.test(literal)) problems.push('has an unclosed placeholder; write ${name}');
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? match[2];
    if (!allowed.includes(name)) problems.push(`uses unknown placeholder "${name}"; known placeholders: ${allowed.join(', ')}`);
  }
  if ([...template].some((ch) => ch.charCodeAt(0) < 32)) problems.push('contains control characters');
  if (template.endsWith('/')) problems.push('ends with "/" and so names a folder, not a file');
  return problems;
}

/** A value made safe inside one path segment: letters, digits and - _ . + @ only; no leading dots. */
export function safeSegmentValue(value: string): string {
  const cleaned = value.normalize('NFKD').replace(/[^A-Za-z0-9._+@-]+/g, '-').replace(/^[.-]+/, '');
  return cleaned || 'none';
}

/**
 * Fills a template and returns a destination-relative path that is safe everywhere. Values cannot add
 * folders (their `/` become `-`); literal segments that are empty, `.` or `..` are dropped.
 */
export function renderFileName(template: string, values: Record<string, string | null | undefined>): string {
  const filled = template.replace(PLACEHOLDER, (_all, a: string | undefined, b: string | undefined) => {
    const name = a ?? b ?? '';
    if (!(name in values)) throw new Error(`template placeholder "${name}" has no value; known: ${Object.keys(values).join(', ')}`);
    return safeSegmentValue(values[name] ?? '');
  });
  const segments = filled.replaceAll('\\', '/').split('/')
    .map((segment) => segment.replace(/[^A-Za-z0-9._+@ -]+/g, '-').trim().slice(0, MAX_SEGMENT_LENGTH))
    .filter((segment) => segment !== '' && !/^\.+$/.test(segment));
  if (segments.length === 0) throw new Error(`template ${JSON.stringify(template)} renders to an empty file name`);
  return segments.join('/').slice(0, MAX_PATH_LENGTH);
}

const uses = (template: string, name: string) => [...template.matchAll(PLACEHOLDER)].some((m) => (m[1] ?? m[2]) === name);

/**
 * Why two recordings of a job could get the same file name (the second would overwrite the first while both
 * are recorded exported); empty when every name is unique. `${recordingId}` is unique; `${interactionId}` is
 * unique for complete calls only (agent segments of one call share it).
 */
export function fileNameCollisions(template: string, contentType: ExportContentType): string[] {
  if (uses(template, 'recordingId')) return [];
  if (contentType !== 'agentSegments' && uses(template, 'interactionId')) return [];
  return [contentType !== 'agentSegments'
    ? 'names no recording uniquely, so two recordings could get the same name and overwrite each other; add ${recordingId} (or ${interactionId})'
    : 'names no agent segment uniquely (segments of one call share ${interactionId}), so they would overwrite each other; add ${recordingId}'];
}

/** Why two runs could write the same manifest name; empty when the name is the run's own. */
export function manifestNameCollisions(template: string): string[] {
  return uses(template, 'runId') ? [] : ['names no run uniquely, so two runs in the same second would overwrite each other\'s manifest; add $(runId)'];
}
