import { z } from 'zod';
import type { Context } from '../context.js';
import { UserError } from '../core/errors.js';
import { formatDateTime } from '../core/time.js';
import type { IncidentRow, IncidentStatus } from '../store/incidents.js';

/**
 * SOP-001 §13.5: people add an incident, or complete one with its cause, corrective action (CAPA), responsible
 * and close date. One use case for every front door (CLI, `/backup incident`, the modal behind the button on
 * an alert or a result). The bot opens incidents itself for every alert and production restore.
 */
const text = (what: string, max: number) => z.string().trim().min(1, `${what} is empty`).max(max, `${what} is longer than ${max} characters`);
const incidentId = z.string().trim().regex(/^[1-9]\d{0,17}$/, 'an incident is named by its number (digits, as `incident list` shows it)');

const addInput = z.object({
  client: z.string(),
  description: text('the description', 2000),
  severity: z.enum(['S1', 'S2', 'S3']).default('S2'),
  actor: text('the actor', 200),
  actorName: text('the actor\'s name', 200),
});

const completeInput = z.object({
  client: z.string(),
  incidentId,
  cause: text('the cause', 2000).optional(),
  correctiveActions: text('the corrective action', 2000).optional(),
  responsible: text('the responsible', 200).optional(),
  close: z.boolean().default(false),
  actor: text('the actor', 200),
  actorName: text('the actor\'s name', 200),
});

function parsed<T>(r: z.ZodSafeParseResult<T>): T {
  if (r.success) return r.data;
  throw new UserError(r.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '));
}

/** A person records an incident (the bot had not seen it): status open. */
export async function addIncident(ctx: Context, raw: z.input<typeof addInput>): Promise<IncidentRow> {
  const i = parsed(addInput.safeParse(raw));
  ctx.client(i.client);
  const at = ctx.clock.now();
  const row = await ctx.store.incidents.open({ client: i.client, at, description: i.description, severity: i.severity, source: 'manual', recordedBy: i.actorName });
  await ctx.store.audit.append({ actor: i.actor, action: 'incident.added', client: i.client, target: `incident:${row.id}`, details: { severity: i.severity, actorName: i.actorName } });
  return (await ctx.store.incidents.get(row.id))!;
}

export type CompleteIncidentInput = z.input<typeof completeInput>;

/**
 * Adds the cause, the corrective action and the responsible to an incident (any of them), and closes it when
 * asked: closing needs all three (the SOP's columns), and a closed incident is never changed again.
 */
export async function completeIncident(ctx: Context, raw: CompleteIncidentInput): Promise<IncidentRow> {
  const i = parsed(completeInput.safeParse(raw));
  ctx.client(i.client);
  const cur = await ctx.store.incidents.get(i.incidentId);
  if (!cur || cur.client !== i.client) throw new UserError(`there is no incident ${i.incidentId} of ${i.client} (see \`incident list ${i.client}\`); nothing was changed`);
  if (cur.status === 'closed') throw closedError(ctx, cur);
  const cause = i.cause ?? (cur.cause || undefined);
  const capa = i.correctiveActions ?? (cur.corrective_actions || undefined);
  const responsible = i.responsible ?? (cur.responsible || undefined);
  if (i.close) {
    const missing = [cause ? '' : 'the cause', capa ? '' : 'the corrective action', responsible ? '' : 'the responsible'].filter(Boolean);
    if (missing.length) throw new UserError(`incident ${cur.id} cannot be closed without ${missing.join(', ')} (SOP-001 §13.5); nothing was changed`);
  } else if (!i.cause && !i.correctiveActions && !i.responsible) {
    throw new UserError('nothing to record: give the cause, the corrective action or the responsible (or close the incident)');
  }
  const at = ctx.clock.now();
  const status: IncidentStatus = i.close ? 'closed' : cur.status;
  const note = i.close ? `closed by ${i.actorName}` : `cause / corrective action recorded by ${i.actorName}`;
  const out = await ctx.store.incidents.update(cur.id, {
    at, status, note, cause: i.cause ?? null, correctiveActions: i.correctiveActions ?? '', responsible: i.responsible ?? null, closedAt: i.close ? at : null,
    recordedBy: i.actorName,
  });
  if (!out.ok) throw out.reason === 'closed' ? closedError(ctx, out.incident) : new UserError(`there is no incident ${i.incidentId}; nothing was changed`);
  await ctx.store.audit.append({ actor: i.actor, action: i.close ? 'incident.closed' : 'incident.updated', client: i.client, target: `incident:${cur.id}`, details: { actorName: i.actorName } });
  return out.incident;
}

function closedError(ctx: Context, r: IncidentRow): UserError {
  return new UserError(`incident ${r.id} of ${r.client} was already closed${r.closed_at ? ` on ${formatDateTime(new Date(r.closed_at), ctx.config.timezone)}` : ''}; a closed incident is not changed (record a new one instead). Nothing was changed`);
}

/** The client's incidents as they stand (open ones only with `open`). */
export async function listClientIncidents(ctx: Context, client: string, o: { open?: boolean } = {}): Promise<IncidentRow[]> {
  ctx.client(client);
  const rows = await ctx.store.incidents.list({ client });
  return o.open ? rows.filter((r) => r.status !== 'closed') : rows;
}
