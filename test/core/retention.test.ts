import { planRetention, type RetentionPolicy } from '../../src/core/retention.js';
import type { BackupRow, BackupType } from '../../src/store/backup-register.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const DAY = 86_400_000;
let nextId = 1;

function row(o: { daysAgo: number; type?: BackupType; ok?: boolean; verified?: boolean; deleted?: boolean; name?: string }): BackupRow {
  const id = String(nextId++);
  const taken = new Date(NOW.getTime() - o.daysAgo * DAY);
  const ok = o.ok ?? true;
  return {
    id, run_id: null, client: 'demo', taken_at: taken, type: o.type ?? 'scheduled', file: o.name ?? `b${id}`, key: `demo/b${id}`, format: 'plain', engine: 'postgres',
    size_bytes: '100', verified: o.verified ?? ok, verified_at: ok ? taken : null, executed_by: 'schedule', result: ok ? 'OK' : 'Error', observations: '',
    sha256: null, tables_counted: 16, locations: [], manifest: null, deleted_at: o.deleted ? NOW : null,
  };
}

const SOP: RetentionPolicy = { scheduled: { days: 180, keep: 26 }, manual: { days: 90 }, preChange: { days: 90 }, preRestore: { days: 365 } };
const RUNBOOK: RetentionPolicy = { ...SOP, scheduled: { days: 30, keep: 26 } };
const SMALL: RetentionPolicy = { scheduled: { days: 30, keep: 3 }, manual: { days: 90 }, preChange: { days: 60 }, preRestore: { days: 365 } };

const names = (d: { row: BackupRow }[]) => d.map((x) => x.row.file);
const range = (from: number, to: number, step = 1) => Array.from({ length: Math.floor((to - from) / step) + 1 }, (_, i) => from + i * step);

describe('planRetention', () => {
  it('30 days of failures keeps the last 26 good backups (runbook policy: 30 days, 26)', () => {
    const good = range(31, 60).map((d) => row({ daysAgo: d, name: `good-${d}` }));
    const failed = range(0, 29).map((d) => row({ daysAgo: d, ok: false, name: `failed-${d}` }));
    const plan = planRetention([...failed, ...good], RUNBOOK, NOW);
    expect(names(plan.delete)).toEqual(range(57, 60).map((d) => `good-${d}`));
    expect(names(plan.keep)).toEqual([...range(0, 29).map((d) => `failed-${d}`), ...range(31, 56).map((d) => `good-${d}`)]);
    expect(plan.keep.find((k) => k.row.file === 'good-56')!.reason).toBe('one of the newest 26 verified backups: always kept (56 days old, beyond the 30-day window)');
    expect(plan.keep.find((k) => k.row.file === 'failed-3')!.reason).toBe('failed scheduled backup within 30 days (3 days old), kept as evidence');
    expect(plan.delete[0]!.reason).toBe('scheduled backup older than 30 days (57 days old)');
  });

  it('weekly SOP schedule: 26 backups (~180 days) stay, older ones go', () => {
    const weekly = range(0, 273, 7).map((d) => row({ daysAgo: d, name: `w-${d}` }));
    const plan = planRetention(weekly, SOP, NOW);
    expect(plan.keep).toHaveLength(26);
    expect(names(plan.keep)).toEqual(range(0, 175, 7).map((d) => `w-${d}`));
    expect(names(plan.delete)).toEqual(range(182, 273, 7).map((d) => `w-${d}`));
  });

  type Case = { name: string; policy: RetentionPolicy; rows: Parameters<typeof row>[0][]; keep: string[]; delete: string[]; protectedNames?: string[] };
  const cases: Case[] = [
    {
      name: 'scheduled by count: beyond the newest `keep` OK scheduled backups (inside the age window) go',
      policy: SMALL,
      rows: [0, 1, 2, 3, 4].map((d) => ({ daysAgo: d, name: `s${d}` })),
      keep: ['s0', 's1', 's2'], delete: ['s3', 's4'],
    },
    {
      name: 'scheduled by age: older than `days` goes once it is outside the safety net',
      policy: SMALL,
      rows: [{ daysAgo: 1, name: 'new1' }, { daysAgo: 2, name: 'new2' }, { daysAgo: 3, name: 'new3' }, { daysAgo: 31, name: 'old' }],
      keep: ['new1', 'new2', 'new3'], delete: ['old'],
    },
    {
      name: 'the safety net keeps old good backups of any type when nothing newer is good',
      policy: SMALL,
      rows: [{ daysAgo: 1, ok: false, name: 'f1' }, { daysAgo: 200, type: 'manual', name: 'm200' }, { daysAgo: 300, name: 's300' }, { daysAgo: 400, type: 'pre-change', name: 'p400' }, { daysAgo: 500, name: 's500' }],
      keep: ['f1', 'm200', 's300', 'p400'], delete: ['s500'],
    },
    {
      name: 'unverified backups do not count for the safety net and go after the window',
      policy: SMALL,
      rows: [{ daysAgo: 5, verified: false, name: 'u5' }, { daysAgo: 40, verified: false, name: 'u40' }, { daysAgo: 50, name: 'g50' }],
      keep: ['u5', 'g50'], delete: ['u40'],
    },
    {
      name: 'manual 90 days, pre-change by its own days (60 here), once outside the safety net',
      policy: SMALL,
      rows: [
        { daysAgo: 0, name: 's0' }, { daysAgo: 1, name: 's1' }, { daysAgo: 2, name: 's2' },
        { daysAgo: 89, type: 'manual', name: 'm89' }, { daysAgo: 91, type: 'manual', name: 'm91' },
        { daysAgo: 59, type: 'pre-change', name: 'c59' }, { daysAgo: 61, type: 'pre-change', name: 'c61' },
      ],
      keep: ['s0', 's1', 's2', 'c59', 'm89'], delete: ['c61', 'm91'],
    },
    {
      name: 'pre-restore: 365 days, and never while an approvals row references it',
      policy: SMALL,
      rows: [
        { daysAgo: 0, name: 's0' }, { daysAgo: 1, name: 's1' }, { daysAgo: 2, name: 's2' },
        { daysAgo: 200, type: 'pre-restore', name: 'r200' }, { daysAgo: 400, type: 'pre-restore', name: 'r400' }, { daysAgo: 500, type: 'pre-restore', name: 'r500-approved' },
      ],
      keep: ['s0', 's1', 's2', 'r200', 'r500-approved'], delete: ['r400'],
      protectedNames: ['r500-approved'],
    },
    {
      name: 'failed backups: kept within their window as evidence, deleted after it',
      policy: SMALL,
      rows: [{ daysAgo: 0, name: 's0' }, { daysAgo: 10, ok: false, name: 'f10' }, { daysAgo: 31, ok: false, name: 'f31' }, { daysAgo: 95, type: 'manual', ok: false, name: 'fm95' }],
      keep: ['s0', 'f10'], delete: ['f31', 'fm95'],
    },
    {
      name: 'rows already marked deleted are ignored; a backup dated in the future is never deleted by age',
      policy: SMALL,
      rows: [{ daysAgo: -2, verified: false, name: 'future' }, { daysAgo: 400, deleted: true, name: 'gone' }],
      keep: ['future'], delete: [],
    },
    {
      name: 'an empty register gives an empty plan',
      policy: SOP, rows: [], keep: [], delete: [],
    },
  ];

  it.each(cases)('$name', (c) => {
    const rows = c.rows.map(row);
    const protectedIds = rows.filter((r) => c.protectedNames?.includes(r.file!)).map((r) => r.id);
    const plan = planRetention(rows, c.policy, NOW, { protectedIds });
    expect(names(plan.keep)).toEqual(c.keep);
    expect(names(plan.delete)).toEqual(c.delete);
    for (const d of [...plan.keep, ...plan.delete]) expect(d.reason).toMatch(/\S/);
  });

  it('is pure: does not reorder or change its input', () => {
    const rows = [row({ daysAgo: 40 }), row({ daysAgo: 1 }), row({ daysAgo: 500, ok: false })];
    const copy = JSON.parse(JSON.stringify(rows));
    planRetention(rows, SMALL, NOW);
    expect(JSON.parse(JSON.stringify(rows))).toEqual(copy);
  });
});

describe('planRetention with S3 Object Lock (manifest.objectLock)', () => {
  const locked = (daysAgo: number, lockDays: number, name: string, o: { type?: BackupType; destination?: string } = {}) => {
    const r = row({ daysAgo, name, type: o.type });
    const until = new Date(new Date(r.taken_at).getTime() + lockDays * DAY).toISOString();
    r.manifest = { objectLock: [{ destination: o.destination ?? 'r2', mode: 'COMPLIANCE', retainUntil: until }] };
    return r;
  };

  it('a backup still locked is kept as "kept: locked until …", even when its age or rank would delete it', () => {
    const rows = [
      locked(40, 60, 'old-locked'), // beyond the 30-day window, locked for 20 more days
      locked(50, 30, 'lock-expired'), // its lock ended 20 days ago: an ordinary old backup
      row({ daysAgo: 35, ok: false, name: 'failed-old' }),
    ];
    const plan = planRetention(rows, SMALL, NOW);
    const k = plan.keep.find((x) => x.row.file === 'old-locked')!;
    expect(k.reason).toBe(`kept: locked until ${new Date(NOW.getTime() + 20 * DAY).toISOString()} (Object Lock COMPLIANCE on r2); not counted against keep`);
    expect(k.lockedUntil).toBe(new Date(NOW.getTime() + 20 * DAY).toISOString());
    expect(names(plan.delete)).toEqual(['failed-old']);
    // lock-expired is kept only by the safety net (the newest good backups not under lock)
    expect(plan.keep.find((x) => x.row.file === 'lock-expired')!.reason).toMatch(/one of the newest 3 verified backups/);
    expect(plan.delete.some((d) => d.row.manifest && (d.row.manifest as { objectLock?: unknown }).objectLock && d.row.file === 'old-locked')).toBe(false);
  });

  it('locked backups are not counted against keep: the newest `keep` unlocked ones stay besides them', () => {
    // daily backups, the newest 5 locked for 7 days; keep 3, 30 days
    const rows = [
      ...range(0, 4).map((d) => locked(d, 7, `locked-${d}`)),
      ...range(5, 9).map((d) => row({ daysAgo: d, name: `plain-${d}` })),
    ];
    const plan = planRetention(rows, SMALL, NOW);
    expect(names(plan.keep)).toEqual([...range(0, 4).map((d) => `locked-${d}`), 'plain-5', 'plain-6', 'plain-7']);
    expect(names(plan.delete)).toEqual(['plain-8', 'plain-9']);
    expect(plan.keep.find((x) => x.row.file === 'plain-7')!.reason).toBe('one of the newest 3 verified backups: always kept');
    // counted, the locked ones would have pushed every unlocked backup out of the newest 3
  });

  it('the latest lock of any destination counts; damaged entries are ignored', () => {
    const r = row({ daysAgo: 100, name: 'two-dest' });
    r.manifest = { objectLock: [
      { destination: 'r2', mode: 'GOVERNANCE', retainUntil: new Date(NOW.getTime() - DAY).toISOString() },
      { destination: 'b2', mode: 'COMPLIANCE', retainUntil: new Date(NOW.getTime() + 2 * DAY).toISOString() },
      { destination: 'x', mode: 'WHATEVER', retainUntil: 'soon' },
    ] };
    const junk = row({ daysAgo: 100, name: 'junk' });
    junk.manifest = { objectLock: [{ destination: 'x', mode: 'COMPLIANCE', retainUntil: 'not a date' }] };
    const plan = planRetention([r, junk, ...range(0, 2).map((d) => row({ daysAgo: d, name: `n${d}` }))], SMALL, NOW);
    expect(plan.keep.find((x) => x.row.file === 'two-dest')!.reason).toMatch(/^kept: locked until .* \(Object Lock COMPLIANCE on b2\)/);
    expect(names(plan.delete)).toEqual(['junk']);
  });
});
