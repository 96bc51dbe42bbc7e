// Errors as RFC 9457 problem details (`application/problem+json`). Route handlers throw a Problem (or use
// the helpers below); the error handler turns everything else into a 500 that names nothing internal.
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import type { z } from 'zod';

export interface FieldError { path: string; message: string }

const TITLES: Record<number, string> = {
  400: 'Invalid input',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Unprocessable request',
  500: 'Internal server error',
  503: 'Service unavailable',
};

export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    /** `type` is a slug (e.g. 'campaign-locked') for problems a client may want to tell apart; the title's by default. */
    readonly options: { errors?: FieldError[]; extensions?: Record<string, unknown>; title?: string; type?: string } = {},
  ) {
    super(detail);
    this.name = 'Problem';
  }

  toJSON() {
    const title = this.options.title ?? TITLES[this.status] ?? 'Error';
    return {
      type: `urn:cc-jobs:problem:${this.options.type ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
      title,
      status: this.status,
      detail: this.detail,
      ...(this.options.errors ? { errors: this.options.errors } : {}),
      ...this.options.extensions,
    };
  }
}

export const badRequest = (detail: string, errors?: FieldError[]) => new Problem(400, detail, { errors });
export const notFound = (detail: string) => new Problem(404, detail);
export const conflict = (detail: string, extensions?: Record<string, unknown>, type?: string) => new Problem(409, detail, { extensions, type });
export const unprocessable = (detail: string, extensions?: Record<string, unknown>) => new Problem(422, detail, { extensions });

/** zod issues as field errors with dotted paths (`segments.0.agent`), prefixed by where the field was. */
export function fieldErrors(error: z.ZodError, prefix = ''): FieldError[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((part) => part !== '').join('.');
    return { path: path || '(body)', message: issue.message };
  });
}

export function sendProblem(res: Response, problem: Problem): void {
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem.toJSON()));
}

export const unknownRoute: RequestHandler = (req, _res, next) => {
  next(new Problem(404, `No endpoint ${req.method} ${req.path}; GET /openapi.json lists them all.`));
};

/** Body-parser errors carry `type`; anything else unexpected is a 500 whose detail says nothing internal. */
export function problemHandler(log?: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    if (err instanceof Problem) return sendProblem(res, err);
    const type = (err as { type?: string }).type;
    if (type === 'entity.parse.failed') {
      return sendProblem(res, badRequest('The request body is not valid JSON; send a JSON document with Content-Type: application/json.'));
    }
    if (type === 'entity.too.large') {
      return sendProblem(res, new Problem(413, `The request body is larger than the ${(err as { limit?: number }).limit ?? ''} bytes this endpoint accepts.`));
    }
    if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
      return sendProblem(res, new Problem(415, 'The request body uses an unsupported encoding or charset; send UTF-8.'));
    }
    // PostgreSQL text cannot hold NUL (U+0000; SQLSTATE 22021): a field carrying one is the client's to fix.
    if ((err as { code?: string }).code === '22021') {
      return sendProblem(res, badRequest('A text field contains a NUL character (\\u0000), which cannot be stored; remove it and send the request again.'));
    }
    log?.error({ err: errorForLog(err), method: req.method, path: req.path }, 'request failed');
    sendProblem(res, new Problem(500, 'The request failed on the server; it has been logged. Try again, and report it if it persists.'));
  };
}

function errorForLog(err: unknown) {
  return err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err);
}
