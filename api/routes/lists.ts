// The named lists of a campaign (API.md "Contact lists"): every contact belongs to one; counted per status.
import { z } from 'zod';
import { listsOf } from '../../lib/contacts/lists.js';
import type { AppDeps } from '../app.js';
import { defineRoute, type RouteRegistry } from '../openapi.js';
import { notFound } from '../problem.js';
import { idParams } from '../schemas.js';

const list = z.object({
  id: z.string(), name: z.string(), contacts: z.number().int(),
  byStatus: z.record(z.string(), z.number().int()).describe('contacts per status; statuses without contacts are left out'),
}).meta({ id: 'ContactList' });

export function register(r: RouteRegistry, { sql }: AppDeps) {
  defineRoute(r, {
    method: 'get', path: '/campaigns/{id}/lists', role: 'viewer', params: idParams, response: z.object({ items: z.array(list) }),
    summary: "The campaign's named lists with their contacts counted in total and per status",
    description: 'Imports (listName) and POST /campaigns/{id}/contacts (listName) create lists by naming them; "default" otherwise.',
    example: { response: { items: [
      { id: '3', name: 'default', contacts: 1200, byStatus: { Remaining: 900, Closed: 250, Callback: 50 } },
      { id: '7', name: 'spring-promo', contacts: 40, byStatus: { Remaining: 40 } },
    ] } },
  }, async ({ params }) => {
    const [campaign] = await sql`select 1 from campaigns where id = ${params.id}`;
    if (!campaign) throw notFound(`Campaign ${params.id} does not exist.`);
    return { items: await listsOf(sql, params.id) };
  });
}
