import { zonedParts } from '../../core/time.js';
import type { ClientEvidence, EvidenceReportData } from './model.js';
import { rpoCompliance, type RpoCompliance } from './rpo.js';

/**
 * The figures at the top of each client's part of the report, computed from the rows the report shows
 * (never filled in separately, so they cannot disagree with the registers).
 */
export interface ClientSummary {
  /** [from, until): the period, cut at the time the report was generated. */
  window: { from: Date; until: Date };
  rpoMs: number;
  rpo: RpoCompliance;
  backups: { taken: number; verified: number; failed: number; unverified: number };
  /** Every quarter the period touches, with its restore tests (environment Test) and their QA signatures. */
  quarters: Array<{ quarter: string; tests: number; ok: number; failed: number; qaSigned: number; qaSigners: string[]; maxMinutes: number | null }>;
  rtoMs: number;
  /** Restores (tests and production) that took longer than the RTO. */
  overRto: number;
  productionRestores: Array<{ id: string; requestedAt: string; requestedBy: string; decidedBy: string | null; decidedRole: string | null; decision: string | null; status: string; outcome: string }>;
  incidents: { open: number; closed: number; restoreIncidents: number };
  brokenRows: number;
  rows: number;
}

function quarterOf(d: Date, tz: string): string {
  const p = zonedParts(d, tz);
  return `${p.year}-Q${Math.ceil(Number(p.month) / 3)}`;
}

/** The quarters (in tz) that [from, until) touches, in order. */
export function quartersBetween(from: Date, until: Date, tz: string): string[] {
  const out: string[] = [];
  const first = quarterOf(from, tz);
  const last = quarterOf(new Date(Math.max(from.getTime(), until.getTime() - 1)), tz);
  let [y, q] = first.split('-Q').map(Number) as [number, number];
  for (let guard = 0; guard < 200; guard++) {
    const name = `${y}-Q${q}`;
    out.push(name);
    if (name === last) break;
    q++;
    if (q > 4) { q = 1; y++; }
  }
  return out;
}

export function summarizeClient(c: ClientEvidence, meta: EvidenceReportData['meta']): ClientSummary {
  const from = new Date(meta.period.from);
  const until = new Date(Math.max(from.getTime(), Math.min(Date.parse(meta.period.to), Date.parse(meta.generatedAt))));
  const prior = c.lastVerifiedBeforePeriod ? [{ ...c.lastVerifiedBeforePeriod, result: 'OK' as const, verified: true }] : [];
  const rpo = rpoCompliance([...prior, ...c.backups], c.rpoMs, { from, to: until });

  const tests = c.restoreTests.filter((t) => t.environment === 'Test');
  const quarters = [...new Set([...quartersBetween(from, until, meta.timezone), ...tests.map((t) => t.quarter)])].sort().map((quarter) => {
    const inQ = tests.filter((t) => t.quarter === quarter);
    const minutes = inQ.map((t) => t.restoreMinutes).filter((m): m is number => m !== null);
    const signers = inQ.map((t) => t.qaSignature?.signerName ?? null).filter((n): n is string => n !== null);
    return {
      quarter, tests: inQ.length, ok: inQ.filter((t) => t.result === 'OK').length, failed: inQ.filter((t) => t.result === 'Fail').length,
      qaSigned: inQ.filter((t) => t.qaSignature !== null).length, qaSigners: [...new Set(signers)], maxMinutes: minutes.length ? Math.max(...minutes) : null,
    };
  });
  const rtoMinutes = c.rtoMs / 60_000;
  const overRto = c.restoreTests.filter((t) => t.restoreMinutes !== null && t.restoreMinutes > rtoMinutes).length;

  const untilMs = until.getTime();
  const open = c.alerts.filter((a) => Date.parse(a.openedAt) < untilMs && (a.resolvedAt === null || Date.parse(a.resolvedAt) > untilMs)).length;
  const closed = c.alerts.filter((a) => a.resolvedAt !== null && Date.parse(a.resolvedAt) >= from.getTime() && Date.parse(a.resolvedAt) <= untilMs).length;

  const all = [...c.backups, ...c.restoreTests, ...c.incidents, ...c.approvals, ...c.audit];
  return {
    window: { from, until },
    rpoMs: c.rpoMs,
    rpo,
    backups: {
      taken: c.backups.length,
      verified: c.backups.filter((b) => b.result === 'OK' && b.verified).length,
      failed: c.backups.filter((b) => b.result === 'Error').length,
      unverified: c.backups.filter((b) => b.result === 'OK' && !b.verified).length,
    },
    quarters,
    rtoMs: c.rtoMs,
    overRto,
    productionRestores: c.approvals.map((a) => ({
      id: a.id, requestedAt: a.requestedAt, requestedBy: a.requestedByName ?? a.requestedBy,
      decidedBy: a.signature ? a.signature.signerName : null, decidedRole: a.signature?.role ?? null,
      decision: a.decision, status: a.status, outcome: a.outcome,
    })),
    incidents: { open, closed, restoreIncidents: c.incidents.length },
    brokenRows: all.filter((r) => r.verification.status === 'broken').length,
    rows: all.length,
  };
}
