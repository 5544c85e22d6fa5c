import type { IncidentRow } from '../../../store/incidents.js';
import { formatDateTime } from '../../../core/time.js';
import { plainText, typedFields } from '../literal.js';

/**
 * The §13.5 incident modal: a new incident (what happened, severity) or an existing one completed (cause,
 * corrective action, responsible, close). What people and tools typed is shown as plain_text.
 */
const plain = (text: string) => ({ type: 'plain_text', text });
const input = (blockId: string, label: string, o: { multiline?: boolean; optional?: boolean; initial?: string; max?: number } = {}) => ({
  type: 'input', block_id: blockId, optional: o.optional ?? false, label: plain(label),
  element: { type: 'plain_text_input', action_id: 'value', multiline: o.multiline ?? false, max_length: o.max ?? 2000, ...(o.initial ? { initial_value: o.initial.slice(0, o.max ?? 2000) } : {}) },
});

export function newIncidentModal(o: { callbackId: string; client: string }): Record<string, unknown> {
  return {
    type: 'modal', callback_id: o.callbackId, title: plain('New incident'), submit: plain('Record'), close: plain('Cancel'),
    private_metadata: JSON.stringify({ client: o.client }),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `A new incident of *${o.client}* in the §13.5 register (SOP-001).` } },
      input('description', 'What happened', { multiline: true }),
      {
        type: 'input', block_id: 'severity', label: plain('Severity'),
        element: { type: 'static_select', action_id: 'value', initial_option: { text: plain('S2'), value: 'S2' }, options: ['S1', 'S2', 'S3'].map((s) => ({ text: plain(s), value: s })) },
      },
    ],
  };
}

export function completeIncidentModal(o: { callbackId: string; incident: IncidentRow; timezone: string }): Record<string, unknown> {
  const i = o.incident;
  return {
    type: 'modal', callback_id: o.callbackId, title: plain(`Incident #${i.id}`.slice(0, 24)), submit: plain('Record'), close: plain('Cancel'),
    private_metadata: JSON.stringify({ client: i.client, incidentId: i.id }),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${i.client}* · opened ${formatDateTime(new Date(i.opened_at), o.timezone)} · ${i.severity ?? ''} · status *${i.status}*` } },
      typedFields([['*Description*', i.description], ['*Backup used*', i.backup_used], ['*Data lost*', i.data_lost]]),
      input('cause', 'Cause', { multiline: true, optional: true, initial: i.cause }),
      input('actions', 'Corrective action (CAPA)', { multiline: true, optional: true, initial: i.corrective_actions }),
      input('responsible', 'Responsible', { optional: true, initial: i.responsible, max: 200 }),
      {
        type: 'input', block_id: 'close', optional: true, label: plain('Close'),
        element: { type: 'checkboxes', action_id: 'value', options: [{ text: plain('Close the incident (cause, corrective action and responsible are required)'), value: 'close' }] },
      },
    ].filter(Boolean),
  };
}
