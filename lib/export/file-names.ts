// File-name templates of the recording export (SPEC "Job 1"). Placeholders are written `${name}` (the
// recording template's style) or `$(name)` (the manifest's); both are accepted in both templates. A template
// is checked when the job is saved; rendering then cleans every value so the name is safe on every protocol:
// no `..`, no absolute path, only characters FTP, SFTP, S3 and local disks all store.

export const RECORDING_PLACEHOLDERS = [
  'callDate', 'callHour', 'callTime', 'customerPhone', 'agent', 'segmentAgent', 'disposition', 'campaign',
  'recordingId', 'interactionId',
] as const;
export const MANIFEST_PLACEHOLDERS = ['currentDate', 'currentTime', 'periodEndDate'] as const;

export const DEFAULT_FILE_NAME_TEMPLATE =
  'recordings/${callDate}/${callHour}/${callDate}_${callTime}_${customerPhone}_${agent}_${recordingId}.wav';
export const DEFAULT_MANIFEST_TEMPLATE = 'recordings_details_$(currentDate)_$(currentTime).csv';

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
