import type { ClientConfig } from '../config/schema.js';
import { restoreSteps, type RestoreState } from './restore-steps.js';

export interface PlannedSkip { step: string; label: string; reason: string }

/**
 * The production-restore steps that will be skipped, and why, known from the configuration and the strategy
 * before anything runs (no notifyChannel, no application configured, the swap of a replace/partial restore):
 * shown in the request and the approve modal, so the approver signs what will really happen.
 */
export function plannedSkips(client: string, cfg: ClientConfig, strategy: RestoreState['strategy']): PlannedSkip[] {
  const stub = { client, cfg, strategy } as unknown as RestoreState;
  const out: PlannedSkip[] = [];
  for (const step of restoreSteps(cfg.database.engine)) {
    if (!step.skip) continue;
    let reason: string | undefined;
    try {
      reason = step.skip(stub);
    } catch {
      continue; // a skip that depends on what happens during the run: not known in advance
    }
    if (reason !== undefined) out.push({ step: step.name, label: step.label, reason });
  }
  return out;
}
