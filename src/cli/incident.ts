import type { Command } from 'commander';
import { action, globals, printJson, printLine, withContext } from './command-frame.js';
import { osUser } from './backup.js';
import { formatDateTime } from '../core/time.js';
import { addIncident, completeIncident, listClientIncidents } from '../operations/incidents.js';
import type { IncidentRow } from '../store/incidents.js';

const view = (r: IncidentRow) => ({
  id: r.id, client: r.client, openedAt: new Date(r.opened_at).toISOString(), status: r.status, severity: r.severity, description: r.description,
  cause: r.cause, correctiveActions: r.corrective_actions, responsible: r.responsible, recoveryMinutes: r.recovery_minutes === null ? null : Number(r.recovery_minutes),
  closedAt: r.closed_at ? new Date(r.closed_at).toISOString() : null, source: r.source,
});

/** `backup-bot incident add|close|list <client>`: the SOP-001 §13.5 incident register by hand. */
export function registerIncidentCommand(program: Command): void {
  const cmd = program.command('incident').description('the incident register (SOP-001 §13.5): add an incident, record its cause and corrective action and close it, list them');
  cmd.command('add')
    .description('record an incident the bot did not see')
    .argument('<client>')
    .requiredOption('--description <text>', 'what happened')
    .option('--severity <S1|S2|S3>', 'severity', 'S2')
    .action(action(async (client: string, o: { description: string; severity: string }, c: Command) => withContext(c, async (ctx) => {
      const user = osUser();
      const r = await addIncident(ctx, { client, description: o.description, severity: o.severity as 'S2', actor: user, actorName: user });
      if (globals(c).json) printJson({ ok: true, incident: view(r) }); else printLine(`incident ${r.id} of ${client} recorded (open)`);
    }, { client })));
  cmd.command('close')
    .description('record the cause, the corrective action (CAPA) and the responsible of an incident, and close it (--keep-open: record them only)')
    .argument('<client>')
    .argument('<id>', 'the incident number (incident list)')
    .option('--cause <text>', 'why it happened')
    .option('--action <text>', 'the corrective action (CAPA)')
    .option('--responsible <name>', 'who is responsible for the corrective action')
    .option('--keep-open', 'record what is given without closing the incident')
    .action(action(async (client: string, id: string, o: { cause?: string; action?: string; responsible?: string; keepOpen?: boolean }, c: Command) => withContext(c, async (ctx) => {
      const user = osUser();
      const r = await completeIncident(ctx, { client, incidentId: id, cause: o.cause, correctiveActions: o.action, responsible: o.responsible, close: !o.keepOpen, actor: user, actorName: user });
      if (globals(c).json) printJson({ ok: true, incident: view(r) }); else printLine(`incident ${r.id} of ${client}: ${r.status}`);
    }, { client })));
  cmd.command('list')
    .description('the client\'s incidents as they stand (oldest first)')
    .argument('<client>')
    .option('--open', 'only the ones not closed')
    .action(action(async (client: string, o: { open?: boolean }, c: Command) => withContext(c, async (ctx) => {
      const rows = await listClientIncidents(ctx, client, { open: o.open });
      if (globals(c).json) { printJson({ ok: true, client, incidents: rows.map(view) }); return; }
      if (rows.length === 0) printLine(`no incidents of ${client}`);
      for (const r of rows) {
        printLine(`#${r.id}  ${formatDateTime(new Date(r.opened_at), ctx.config.timezone)}  ${r.status.padEnd(8)} ${r.severity ?? '-'}  ${r.description.slice(0, 120)}`);
        if (r.cause || r.corrective_actions || r.responsible) printLine(`      cause: ${r.cause || '-'} · CAPA: ${r.corrective_actions || '-'} · responsible: ${r.responsible || '-'}`);
      }
    }, { client, poolSize: 2 })));
}
