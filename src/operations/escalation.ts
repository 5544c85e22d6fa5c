import type { Context } from '../context.js';
import { errorMessage } from '../core/errors.js';
import type { AlertKind, AlertRow } from '../store/alerts.js';
import type { Audience, ReportEvent } from './reporter.js';

/**
 * Escalation (SOP-001 §13.4, runbook §4 step 5): a failure that needs people becomes a tracked alert like the
 * watchdog's — one alert row (and its §13.5 incident) per (client, kind) while it lasts, posted once, naming the
 * client's operators (S2) or operators, IT Managers and System Owners (S1), and resolved visibly when the same
 * check passes again (the alert message is edited, a notice is posted, the incident keeps its history).
 */
type Severity = 'S1' | 'S2';

function audienceOf(severity: Severity): Audience {
  return severity === 'S1' ? ['operators', 'itManagers', 'systemOwners'] : ['operators'];
}

export interface RaiseAlert {
  client: string;
  kind: AlertKind;
  severity: Severity;
  /** The alert row's own text (the register of alerts and the incident's description). */
  message: string;
  details?: Record<string, unknown>;
  /** The message people see, given the incident it opened. */
  event: (incidentId: string | undefined, audience: Audience) => ReportEvent;
}

/** Opens and posts the alert; undefined (nothing posted) when one of this kind is already open for the client. */
export async function raiseAlert(ctx: Context, a: RaiseAlert): Promise<AlertRow | undefined> {
  const row = await ctx.store.alerts.open({ client: a.client, kind: a.kind, severity: a.severity, message: a.message.slice(0, 2000), details: a.details, at: ctx.clock.now() })
    .catch((err: unknown) => { ctx.logger.error({ client: a.client, kind: a.kind, err: errorMessage(err) }, 'could not record the alert'); return undefined; });
  if (!row) return undefined;
  const ref = await ctx.reporter.report(a.event(row.incident_id ?? undefined, audienceOf(a.severity)));
  if (ref) {
    await ctx.store.alerts.setMessage(row.id, ref.channel, ref.ts).catch(() => undefined);
    row.slack_channel = ref.channel;
    row.slack_ts = ref.ts;
  }
  await ctx.store.audit.append({ actor: 'backup-bot', action: 'alert.opened', client: a.client || null, target: `alert:${row.id}`, details: { kind: a.kind, severity: a.severity, incident: row.incident_id } });
  ctx.logger.warn({ client: a.client, kind: a.kind, severity: a.severity, alert: row.id }, `${a.severity} alert opened: ${a.message.slice(0, 200)}`);
  return row;
}

/** Resolves the client's open alerts of `kinds`: edits each alert message, posts one notice, audits. */
export async function clearAlerts(ctx: Context, client: string, kinds: AlertKind[], message: string): Promise<AlertRow[]> {
  const now = ctx.clock.now();
  const resolved = await ctx.store.alerts.resolve(client, now, message, kinds)
    .catch((err: unknown) => { ctx.logger.error({ client, kinds, err: errorMessage(err) }, 'could not resolve the alerts'); return [] as AlertRow[]; });
  for (const a of resolved) {
    await ctx.store.audit.append({ actor: 'backup-bot', action: 'alert.resolved', client: client || null, target: `alert:${a.id}`, details: { kind: a.kind, incident: a.incident_id } });
    if (a.slack_channel && a.slack_ts) await ctx.reporter.report({ kind: 'alert.resolved', client, alert: a, message, now, notice: false }, { channel: a.slack_channel, ts: a.slack_ts });
    await ctx.reporter.report({ kind: 'alert.resolved', client, alert: a, message, now, notice: true });
  }
  return resolved;
}
