// The routes every kind of job definition shares (recording exports, reports, results exports, Salesforce
// exports, jobs made of steps): a collection at `path` and an item at `path/{id}` — create (admin, 201), list a
// page by id, get one, change it (admin), delete it and its Temporal Schedule (admin), run it now (operator,
// 202, Idempotency-Key) — with one 404 and one 409 wording. Each route file keeps what is its own: its fields and
// view, its checks, what it writes and how a run starts; it calls these in the order its routes are documented.
import type { Request } from 'express';
import { z } from 'zod';
import type { Sql } from '../../db/sql.js';
import { storedScheduleId } from '../../lib/schedules/stored-id.js';
import { deleteJobSchedule, ScheduleOwnedElsewhereError } from '../../lib/temporal/schedules.js';
import { runSearchAttributes, triggeredByKey, type JobKind } from '../../contracts/search-attributes.js';
import type { AppDeps } from '../app.js';
import type { Caller } from '../auth.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { conflict, notFound } from '../problem.js';
import { decodeCursor, idParams, pageOf, pageQuery, paged, runAccepted } from '../schemas.js';

/** What a route file writes about one of its routes (the method, path, role and schemas of the shared shape are set here). */
export interface RouteDoc { summary: string; description?: string; errors?: number[]; example?: { body?: unknown; response?: unknown } }

export interface DefinitionResource<D extends { id: string }, V extends z.ZodType> {
  /** The collection's path, e.g. `/reports`; an item is `<path>/{id}`. */
  path: string;
  /** job_definitions.kind of its rows (the default list pages through them). */
  kind: string;
  /** What one is called in problems: `<Noun> 7 does not exist.`, `A <noun> named "x" already exists…`. */
  noun: string;
  load(sql: Sql, id: string): Promise<D | undefined | null>;
  /** The view (`viewSchema`) of a loaded definition. */
  view(def: D): Promise<z.input<V>>;
  viewSchema: V;
}

/** A new definition with a schedule: its id and the schedule id saved with it. */
export const scheduledCreated = z.object({ id: z.string(), scheduleId: z.string() });

export function definitionRoutes<D extends { id: string }, V extends z.ZodType>(r: RouteRegistry, deps: AppDeps, resource: DefinitionResource<D, V>) {
  const { sql, client } = deps;
  const taskQueue = deps.config.TEMPORAL_TASK_QUEUE;
  const { path, noun } = resource;
  const item = `${path}/{id}`;

  const load = async (id: string): Promise<D> => {
    const def = await resource.load(sql, id);
    if (!def) throw notFound(`${noun[0].toUpperCase()}${noun.slice(1)} ${id} does not exist.`);
    return def;
  };
  /** A write the (kind, name) unique index refuses is 409 naming the name. */
  const uniqueName = <T>(name: string, write: () => Promise<T>): Promise<T> => write().catch((err: unknown) => {
    if ((err as { code?: string }).code === '23505') throw conflict(`A ${noun} named ${JSON.stringify(name)} already exists; pick another name.`);
    throw err;
  });
  const view = async (id: string) => resource.view(await load(id));

  return {
    load,
    uniqueName,
    /** Our schedule id held by another installation's schedule (same namespace): 409, nothing overwritten or saved. */
    refuseForeignSchedule(err: unknown): never {
      if (err instanceof ScheduleOwnedElsewhereError) throw conflict(err.message);
      throw err;
    },

    /** Inserts the row (`insert` returns its id) and makes its schedule (`schedule` returns the schedule id) in one
     *  transaction: if Temporal refuses the schedule, no row is left behind. */
    async insertScheduled(name: string, insert: (tx: Sql) => Promise<string>, schedule: (id: string) => Promise<string>): Promise<z.input<typeof scheduledCreated>> {
      const id = await sql.begin(async (tx) => {
        const created = await uniqueName(name, () => insert(tx as unknown as Sql));
        const scheduleId = await schedule(created);
        await tx`update job_definitions set schedule_id = ${scheduleId} where id = ${created}`;
        return created;
      });
      return { id, scheduleId: await storedScheduleId(sql, id) };
    },

    /** Updates the row (`update`) and puts its schedule in line (`schedule`, given the saved schedule id) in one
     *  transaction: if Temporal refuses the change, the row is left as it was. */
    async updateScheduled(def: D, name: string, update: (tx: Sql) => Promise<unknown>, schedule: (scheduleId: string) => Promise<unknown>): Promise<void> {
      await sql.begin(async (tx) => {
        await uniqueName(name, () => update(tx as unknown as Sql));
        await schedule(await storedScheduleId(tx as unknown as Sql, def.id));
      });
    },

    /** Starts the definition's workflow now under `workflowId`, with the run search attributes naming the caller's key. */
    async startRun(def: { id: string; campaignId: string | null }, caller: Caller, run: { kind: JobKind; workflowType: string; workflowId: string; input: unknown }): Promise<string> {
      await client.workflow.start(run.workflowType, {
        taskQueue, workflowId: run.workflowId, args: [run.input],
        typedSearchAttributes: runSearchAttributes({ kind: run.kind, campaignId: def.campaignId, definitionId: def.id, triggeredBy: triggeredByKey(caller.keyId) }),
      });
      return run.workflowId;
    },

    /** POST <path> (admin, 201). */
    create<B extends z.ZodType, R extends z.ZodType = typeof scheduledCreated>(
      doc: RouteDoc & { body: B; response?: R; startsWork?: boolean },
      handler: (ctx: { body: z.output<B>; req: Request }) => Promise<z.input<R>>,
    ): void {
      defineRoute(r, { method: 'post', path, role: 'admin', status: 201, ...doc, response: (doc.response ?? scheduledCreated) as R }, handler as never);
    },

    /** GET <path> (viewer): a page by id; `page` (own filters in `query`) returns up to `limit` definitions after `after`. */
    list<Q extends z.ZodType<{ limit: number; cursor?: string }, object> = typeof pageQuery>(doc: RouteDoc & {
      query?: Q; page?: (query: z.output<Q>, after: string, limit: number) => Promise<D[]>;
    }): void {
      const { page, query = pageQuery as unknown as Q, ...rest } = doc;
      const defs = page ?? (async (_query: unknown, after: string, limit: number) => {
        const ids = await sql<{ id: string }[]>`
          select id::text from job_definitions where kind = ${resource.kind} and id > ${after} order by id limit ${limit}`;
        return Promise.all(ids.map((row) => load(row.id)));
      });
      defineRoute(r, { method: 'get', path, role: 'viewer', query, response: paged(resource.viewSchema), ...rest }, async ({ query: sent }) => {
        const q = sent as z.output<Q>;
        const found = pageOf(await defs(q, decodeCursor(q.cursor), q.limit + 1), q.limit);
        return { items: await Promise.all(found.items.map(resource.view)), nextCursor: found.nextCursor } as never;
      });
    },

    /** GET <path>/{id} (viewer). */
    get(doc: RouteDoc): void {
      defineRoute(r, { method: 'get', path: item, role: 'viewer', params: idParams, response: resource.viewSchema, ...doc }, async ({ params }) => view(params.id) as never);
    },

    /** PATCH <path>/{id} (admin): `change` checks and saves the body; the answer is the definition as saved. */
    patch<B extends z.ZodType>(doc: RouteDoc & { body: B }, change: (def: D, body: z.output<B>) => Promise<void>): void {
      defineRoute(r, { method: 'patch', path: item, role: 'admin', params: idParams, response: resource.viewSchema, ...doc }, async ({ params, body }) => {
        const def = await load(params.id);
        await change(def, body as z.output<B>);
        return view(def.id) as never;
      });
    },

    /** DELETE <path>/{id} (admin): the row, then its schedule. The deletion is committed first: the schedule sync
     *  decides under the row lock and, once this commits, deletes rather than recreates the schedule (and completes
     *  a removal that failed here). */
    delete(doc: RouteDoc): void {
      defineRoute(r, { method: 'delete', path: item, role: 'admin', params: idParams, ...doc }, async ({ params }) => {
        const def = await load(params.id);
        const [deleted] = await sql<{ schedule_id: string | null }[]>`delete from job_definitions where id = ${def.id} returning schedule_id`;
        if (deleted?.schedule_id) await deleteJobSchedule(client, deleted.schedule_id, taskQueue);
      });
    },

    /** POST <path>/{id}/run (operator, 202, Idempotency-Key): `start` starts the run and returns its id. */
    run(doc: RouteDoc, start: (def: D, caller: Caller) => Promise<string>): void {
      defineRoute(r, {
        method: 'post', path: `${item}/run`, role: 'operator', status: 202, startsWork: true, params: idParams, response: runAccepted, ...doc,
      }, async ({ params, caller }) => ({ runId: await start(await load(params.id), caller!) }));
    },
  };
}
