// Which destination wrote an exported copy, from the location its put() returned (PutResult.location):
//   s3://<bucket>/<prefix>/<path>        file:///<base>/<path>
//   sftp://<host>:<port>/<base>/<path>   ftp://<host>:<port>/<base>/<path>
// sftp/ftp bases relative to the login's home are made absolute on the server, so from a location alone
// only destinations with an absolute base can be matched; copies exported since migration 0008 carry the
// destination id and relative path, and then the location only confirms the destination still points there.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { config } from '../config.js';
import { fileDestinationBase } from '../transfer/file.js';
import { joinBase } from '../transfer/paths.js';
import type { DestinationSettings, Protocol } from '../transfer/index.js';

const DEFAULT_PORTS: Partial<Record<Protocol, number>> = { sftp: 22, ftp: 21 };

export function protocolOf(location: string): Protocol | undefined {
  const scheme = /^([a-z0-9]+):\/\//.exec(location)?.[1];
  return scheme === 's3' || scheme === 'file' || scheme === 'sftp' || scheme === 'ftp' ? scheme : undefined;
}

export function parseS3Location(location: string): { bucket: string; key: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  return match ? { bucket: match[1], key: match[2] } : undefined;
}

/** `sftp://host:port/abs/path` (host may be an IPv6 address: the port is after the last colon). */
function parseServerLocation(location: string): { protocol: string; host: string; port: number; path: string } | undefined {
  const match = /^(sftp|ftp):\/\/([^/]*):(\d+)(\/.*)$/.exec(location);
  return match ? { protocol: match[1], host: match[2], port: Number(match[3]), path: match[4] } : undefined;
}

const segments = (p: string | undefined) => (p ?? '').split('/').filter((s) => s !== '' && s !== '.').join('/');

/** What follows `base/` in `full`, or undefined when `full` is not strictly inside `base`. */
function under(base: string, full: string): string | undefined {
  if (!base) return full || undefined;
  return full.startsWith(`${base}/`) && full.length > base.length + 1 ? full.slice(base.length + 1) : undefined;
}

function sameServer(settings: DestinationSettings, server: { protocol: string; host: string; port: number }): boolean {
  return settings.protocol === server.protocol && (settings.host ?? '').toLowerCase() === server.host.toLowerCase()
    && (settings.port ?? DEFAULT_PORTS[settings.protocol]) === server.port;
}

/**
 * The path relative to the destination's base under which `location` lies, or undefined when this
 * destination cannot have written it (other protocol, bucket, server or base folder, or an sftp/ftp base
 * relative to a home folder the location does not reveal).
 */
export function relativePathIn(settings: DestinationSettings, location: string): string | undefined {
  switch (settings.protocol) {
    case 's3': {
      const parsed = parseS3Location(location);
      if (!parsed || parsed.bucket !== settings.bucket) return undefined;
      return under(segments(settings.path), parsed.key);
    }
    case 'file': {
      if (protocolOf(location) !== 'file') return undefined;
      // The folder as the transfer resolves it (a relative path is taken from FILE_DESTINATION_ROOT).
      const rel = path.relative(fileDestinationBase(settings, config().fileDestinationRoot), fileURLToPath(location));
      if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
      return rel.split(path.sep).join('/');
    }
    case 'sftp':
    case 'ftp': {
      const parsed = parseServerLocation(location);
      if (!parsed || !sameServer(settings, parsed) || !settings.path?.startsWith('/')) return undefined;
      return under(segments(settings.path) ? `/${segments(settings.path)}` : '', parsed.path)?.replace(/^\//, '');
    }
    default:
      return undefined;
  }
}

/** Does this destination, as configured now, put the relative path `rel` at `location`? */
export function placesAt(settings: DestinationSettings, rel: string, location: string): boolean {
  const parsed = parseServerLocation(location);
  if ((settings.protocol === 'sftp' || settings.protocol === 'ftp') && !settings.path?.startsWith('/')) {
    // A base relative to the home folder: the location must end with it, whatever the home is.
    return !!parsed && sameServer(settings, parsed) && parsed.path.endsWith(`/${joinBase(segments(settings.path), rel)}`);
  }
  return relativePathIn(settings, location) === rel;
}
