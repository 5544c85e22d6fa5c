import type { App } from '@slack/bolt';
import type { CommandDeps } from '../commands/deps.js';
import { qaVerified } from './qa-verified.js';
import { QA_VERIFIED_ACTION_ID } from '../slack/render/restore-test.js';
// --- production restores (issue 7) ---
import { restoreRequestSubmitted } from './restore-request-submitted.js';
import { approveRestore } from './approve-restore.js';
import { approvalSubmitted } from './approval-submitted.js';
import { rejectRestore, rejectionSubmitted } from './reject-restore.js';
import { startRestore } from './start-restore.js';
// --- end production restores ---

/**
 * Slack IDs of the approval buttons and modals. The QA button is rendered by operations (a restore test
 * started by a job or the CLI has no front door to hand it an ID), so its ID is defined once, with its
 * renderer, and registered from here.
 */
export const QA_VERIFY_ACTION_ID = QA_VERIFIED_ACTION_ID;
// --- production restores (issue 7) ---
export const RESTORE_REQUEST_VIEW_ID = 'restore_request_modal';
export const APPROVE_RESTORE_ACTION_ID = 'approve_restore';
export const APPROVE_RESTORE_VIEW_ID = 'approve_restore_modal';
export const REJECT_RESTORE_ACTION_ID = 'reject_restore';
export const REJECT_RESTORE_VIEW_ID = 'reject_restore_modal';
export const START_RESTORE_ACTION_ID = 'start_restore';
// --- end production restores ---

/** Registers every approval action and view (restore-test QA signature; production restores add theirs here). */
export function register(app: App, deps: CommandDeps): void {
  app.action<import('@slack/bolt').BlockButtonAction>(QA_VERIFY_ACTION_ID, (args) => qaVerified(deps, args));
  // --- production restores (issue 7) ---
  app.view<import('@slack/bolt').ViewSubmitAction>(RESTORE_REQUEST_VIEW_ID, (args) => restoreRequestSubmitted(deps, args, { approve: APPROVE_RESTORE_ACTION_ID, reject: REJECT_RESTORE_ACTION_ID }));
  app.action<import('@slack/bolt').BlockButtonAction>(APPROVE_RESTORE_ACTION_ID, (args) => approveRestore(deps, args, { approveView: APPROVE_RESTORE_VIEW_ID }));
  app.view<import('@slack/bolt').ViewSubmitAction>(APPROVE_RESTORE_VIEW_ID, (args) => approvalSubmitted(deps, args, { startButton: START_RESTORE_ACTION_ID }));
  app.action<import('@slack/bolt').BlockButtonAction>(REJECT_RESTORE_ACTION_ID, (args) => rejectRestore(deps, args, { rejectView: REJECT_RESTORE_VIEW_ID }));
  app.view<import('@slack/bolt').ViewSubmitAction>(REJECT_RESTORE_VIEW_ID, (args) => rejectionSubmitted(deps, args));
  app.action<import('@slack/bolt').BlockButtonAction>(START_RESTORE_ACTION_ID, (args) => startRestore(deps, args));
  // --- end production restores ---
}
