import type { App, BlockButtonAction, ViewSubmitAction } from '@slack/bolt';
import type { CommandDeps } from '../commands/deps.js';
import type { ButtonIds } from '../notify/message-reporter.js';
import { qaVerified } from './qa-verified.js';
import { restoreRequestSubmitted } from './restore-request-submitted.js';
import { approveRestore } from './approve-restore.js';
import { approvalSubmitted } from './approval-submitted.js';
import { rejectRestore, rejectionSubmitted } from './reject-restore.js';
import { startRestore } from './start-restore.js';
import { incidentButton } from './incident-opened.js';
import { incidentSubmitted } from './incident-submitted.js';

/** The Slack IDs of the approval buttons and modals (also in manifest.yml's interactivity); nowhere else. */
const QA_VERIFY_ACTION_ID = 'qa_verified';
export const RESTORE_REQUEST_VIEW_ID = 'restore_request_modal';
const APPROVE_RESTORE_ACTION_ID = 'approve_restore';
const APPROVE_RESTORE_VIEW_ID = 'approve_restore_modal';
const REJECT_RESTORE_ACTION_ID = 'reject_restore';
const REJECT_RESTORE_VIEW_ID = 'reject_restore_modal';
const START_RESTORE_ACTION_ID = 'start_restore';
const INCIDENT_ACTION_ID = 'record_incident';
export const INCIDENT_VIEW_ID = 'incident_modal';

/** The buttons the reporter puts on messages (handed to it where the bot is wired). */
export const APPROVAL_BUTTONS: ButtonIds = { qaVerify: QA_VERIFY_ACTION_ID, approve: APPROVE_RESTORE_ACTION_ID, reject: REJECT_RESTORE_ACTION_ID, start: START_RESTORE_ACTION_ID, incident: INCIDENT_ACTION_ID };

/** Registers every approval action and view; each handler acks first. */
export function register(app: App, deps: CommandDeps): void {
  app.action<BlockButtonAction>(QA_VERIFY_ACTION_ID, (args) => qaVerified(deps, args));
  app.view<ViewSubmitAction>(RESTORE_REQUEST_VIEW_ID, (args) => restoreRequestSubmitted(deps, args));
  app.action<BlockButtonAction>(APPROVE_RESTORE_ACTION_ID, (args) => approveRestore(deps, args, { approveView: APPROVE_RESTORE_VIEW_ID }));
  app.view<ViewSubmitAction>(APPROVE_RESTORE_VIEW_ID, (args) => approvalSubmitted(deps, args));
  app.action<BlockButtonAction>(REJECT_RESTORE_ACTION_ID, (args) => rejectRestore(deps, args, { rejectView: REJECT_RESTORE_VIEW_ID }));
  app.view<ViewSubmitAction>(REJECT_RESTORE_VIEW_ID, (args) => rejectionSubmitted(deps, args));
  app.action<BlockButtonAction>(START_RESTORE_ACTION_ID, (args) => startRestore(deps, args));
  app.action<BlockButtonAction>(INCIDENT_ACTION_ID, (args) => incidentButton(deps, args, { incidentView: INCIDENT_VIEW_ID }));
  app.view<ViewSubmitAction>(INCIDENT_VIEW_ID, (args) => incidentSubmitted(deps, args));
}
