import { backupFileName, filesArchiveName, backupKey, manifestKey, uniqueBackupBase, parseBackupFileName, sanitizePath, isDumpFileName, isEncryptedName, isGzipName } from '../../src/core/naming.js';

describe('backup names (SOP-001 5.4)', () => {
  const at = new Date('2026-01-06T03:00:00Z');
  test('plain is backup_YYYY-MM-DD_HH-MM-SS.sql.gz in UTC by default; custom is .dump', () => {
    expect(backupFileName(at)).toBe('backup_2026-01-06_03-00-00.sql.gz');
    expect(backupFileName(at, { format: 'custom' })).toBe('backup_2026-01-06_03-00-00.dump');
  });
  test('the configured time zone is used', () => {
    expect(backupFileName(at, { timeZone: 'America/Argentina/Buenos_Aires' })).toBe('backup_2026-01-06_00-00-00.sql.gz');
  });
  test('files archives, keys and manifests', () => {
    expect(filesArchiveName('backup_2026-01-06_03-00-00', 1, '/var/www/html')).toBe('backup_2026-01-06_03-00-00_files_1-var_www_html.tar.gz');
    expect(filesArchiveName('b', 2, '/srv/$(touch /tmp/pwned)')).toBe('b_files_2-srv_touch_tmp_pwned_.tar.gz');
    expect(sanitizePath('/')).toBe('root');
    expect(backupKey('demo', 'backup_x.sql.gz')).toBe('demo/backup_x.sql.gz');
    expect(manifestKey('demo/backup_x.sql.gz')).toBe('demo/backup_x.sql.gz.manifest.json');
  });
  test('two backups in the same second get _2, _3', async () => {
    const taken = new Set(['backup_2026-01-06_03-00-00.sql.gz', 'backup_2026-01-06_03-00-00_2.sql.gz']);
    expect(await uniqueBackupBase(at, {}, async (f) => taken.has(f))).toBe('backup_2026-01-06_03-00-00_3');
    expect(await uniqueBackupBase(at, {}, async () => false)).toBe('backup_2026-01-06_03-00-00');
    expect(parseBackupFileName('backup_2026-01-06_03-00-00_3.sql.gz')).toEqual({ base: 'backup_2026-01-06_03-00-00_3', format: 'plain', n: 3, encrypted: false });
    expect(isDumpFileName('backup_2026-01-06_03-00-00.sql.gz.manifest.json')).toBe(false);
    expect(isDumpFileName('backup_2026-01-06_03-00-00_files_1-etc.tar.gz')).toBe(false);
  });
});

describe('encrypted (age) names', () => {
  const at = new Date('2026-01-06T03:00:00Z');
  test('the SOP name plus .age, for dumps, custom archives and files archives', () => {
    expect(backupFileName(at, { encrypted: true })).toBe('backup_2026-01-06_03-00-00.sql.gz.age');
    expect(backupFileName(at, { format: 'custom', encrypted: true })).toBe('backup_2026-01-06_03-00-00.dump.age');
    expect(filesArchiveName('backup_2026-01-06_03-00-00', 1, '/var/www/html', true)).toBe('backup_2026-01-06_03-00-00_files_1-var_www_html.tar.gz.age');
    expect(parseBackupFileName('backup_2026-01-06_03-00-00_2.dump.age')).toEqual({ base: 'backup_2026-01-06_03-00-00_2', format: 'custom', n: 2, encrypted: true });
    expect(isDumpFileName('backup_2026-01-06_03-00-00.sql.gz.age')).toBe(true);
    expect(isDumpFileName('backup_2026-01-06_03-00-00.sql.gz.age.manifest.json')).toBe(false);
    expect(isDumpFileName('backup_2026-01-06_03-00-00.age')).toBe(false);
    expect([isEncryptedName('a.sql.gz.age'), isEncryptedName('a.sql.gz')]).toEqual([true, false]);
    expect([isGzipName('a.sql.gz.age'), isGzipName('a.tar.gz'), isGzipName('a.dump.age'), isGzipName('a.dump')]).toEqual([true, true, false, false]);
  });
  test('a base is taken when its plain or its encrypted name is', async () => {
    expect(await uniqueBackupBase(at, {}, async (f) => f === 'backup_2026-01-06_03-00-00.sql.gz.age')).toBe('backup_2026-01-06_03-00-00_2');
    expect(await uniqueBackupBase(at, { format: 'custom' }, async (f) => f === 'backup_2026-01-06_03-00-00.dump')).toBe('backup_2026-01-06_03-00-00_2');
  });
});
