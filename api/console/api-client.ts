// The console is a client of this process's own API: each page reads, and each action calls, the same
// route a curl user would, with the session's key. Roles, privileges, validation, Idempotency-Keys and
// problems all come from the API's route registry; the console adds none of its own.
import type { Request } from 'express';
import type { Session } from './sessions.js';

export interface Problem { status: number; title?: string; detail?: string; errors?: { path: string; message: string }[] }

/** The API answered with a problem; the console shows it with the same status. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
  }
}

export interface ConsoleApi {
  get<T = any>(path: string, query?: Record<string, string | undefined>): Promise<T>;
  send<T = any>(method: 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
  /** The raw response of a GET (downloads), a problem thrown as ApiError. */
  download(path: string): Promise<globalThis.Response>;
}

/** This server as the request reached it: the socket's own address and port (no proxy in between). */
function selfBase(req: Request): string {
  const address = (req.socket.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  return `http://${address.includes(':') ? `[${address}]` : address}:${req.socket.localPort}`;
}

async function problemOf(res: globalThis.Response): Promise<Problem> {
  const text = await res.text();
  try {
    return { status: res.status, ...JSON.parse(text) };
  } catch {
    return { status: res.status, detail: text || res.statusText };
  }
}

export function consoleApi(req: Request, session: Session): ConsoleApi {
  const base = selfBase(req);
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(base + path, {
      method, redirect: 'manual',
      headers: { authorization: `Bearer ${session.apiKey}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new ApiError(await problemOf(res));
    return res;
  };
  return {
    async get(path, query = {}) {
      const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => !!e[1]));
      const res = await call('GET', params.size ? `${path}?${params}` : path);
      return (await res.json()) as never;
    },
    async send(method, path, body, headers) {
      const res = await call(method, path, body, headers);
      const text = await res.text();
      return text ? JSON.parse(text) : undefined;
    },
    download: (path) => call('GET', path),
  };
}
