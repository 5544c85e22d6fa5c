import { DumpScanner } from '../../../src/core/dump/scan.js';

function scanIn(text: string, chunk: number, engine: 'postgres' | 'mysql' = 'postgres') {
  const s = new DumpScanner(engine);
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += chunk) s.push(buf.subarray(i, i + chunk));
  return s.finish();
}

const PG = [
  '--', '-- PostgreSQL database dump', '--', '',
  'CREATE TABLE public.lotes (', '    id integer', ');', '',
  'CREATE UNLOGGED TABLE public.cache (id int);',
  "COPY public.lotes (id, nota) FROM stdin;", '1\tthe text CREATE TABLE inside data', '\\.', '',
  'CREATE TABLE public.ñandú (id int);',
  '--', '-- PostgreSQL database dump complete', '--', '', '\\unrestrict abcDEF123', '',
].join('\n');

describe('DumpScanner', () => {
  test.each([1, 2, 3, 7, 13, 64, 100000])('counts CREATE TABLE at line start and sees the trailer across %i-byte chunks', (n) => {
    expect(scanIn(PG, n)).toMatchObject({ tables: 3, trailer: true });
  });
  test('a dump cut before its trailer is detected', () => {
    const cut = PG.slice(0, PG.indexOf('-- PostgreSQL database dump complete'));
    expect(scanIn(cut, 5)).toMatchObject({ tables: 3, trailer: false });
  });
  test('the trailer must be at the end, not in the middle', () => {
    expect(scanIn(PG + 'INSERT INTO x VALUES (1);\n', 9).trailer).toBe(false);
  });
  test.each([1, 5, 24, 25, 26, 4096])('first line, unterminated last line, words mid-line (%i-byte chunks); bytes counted', (n) => {
    const text = 'CREATE TABLE first (id int);\nx CREATE TABLE not_at_start;\nCREATE TEMP TABLE t (id int);\n  CREATE TABLE indented;\nCREATE TABLE last';
    expect(scanIn(text, n)).toEqual({ tables: 3, trailer: false, bytes: Buffer.byteLength(text) });
  });
  test('mysqldump trailer', () => {
    const my = 'CREATE TABLE `a` (\n  `id` int\n);\n/*!40101 SET x */;\n\n-- Dump completed on 2026-01-06  3:00:00\n';
    expect(scanIn(my, 4, 'mysql')).toMatchObject({ tables: 1, trailer: true });
    expect(scanIn(my, 4, 'postgres').trailer).toBe(false);
  });
});
