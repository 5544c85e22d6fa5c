import { Transform, type TransformCallback } from 'node:stream';

/**
 * The guard between a MySQL/MariaDB dump and the database it is loaded into. A dump made by backup-bot
 * (`mysqldump … -- db`) has no `CREATE DATABASE` / `USE`, but one made with `--databases` or
 * `--all-databases` (an imported or older backup) has `CREATE DATABASE prod`, `USE prod` and, with
 * `--add-drop-database`, `DROP DATABASE prod`: loaded as it is into `prod__restore_1`, it would write into
 * production. And mysqldump copies a trigger's original statement verbatim, so `CREATE TRIGGER prod.tr …
 * ON prod.t` creates the trigger in production whatever the default database.
 *
 * So, line by line (mysqldump writes one statement head per line; row data never holds a raw newline):
 * - `CREATE DATABASE`, `DROP DATABASE`, `USE` lines are dropped (the names are recorded; a dump that
 *   names two different databases is refused: it is not the backup of one database);
 * - a statement that addresses a table as `db.table` (INSERT INTO, CREATE TABLE, LOCK TABLES …) fails the load;
 * - statements inside `DELIMITER ;;` blocks (triggers, routines, events) are collected whole, and a
 *   trigger's qualified name and table (`prod.tr … ON prod.t`) are made unqualified.
 * It also keeps the dump's last bytes (the "-- Dump completed" trailer), and notes whether the dump has an
 * events and a routines section (mysqldump writes them only with --events / --routines).
 * The `mysql` client runs with --one-database too, so a USE that got past this filter stops the writes.
 */

const IDENT = '(?:`(?:[^`]|``)+`|[A-Za-z0-9_$]+)';
const QIDENT = `${IDENT}(?:\\s*\\.\\s*${IDENT})?`;
const COMMENT_PREFIX = '(?:/\\*!\\d*\\s*)?';

const DATABASE_LINE = new RegExp(`^${COMMENT_PREFIX}(CREATE|DROP)\\s+(?:DATABASE|SCHEMA)\\b(?:\\s*/\\*!\\d+\\s*IF\\s+NOT\\s+EXISTS\\s*\\*/|\\s+IF\\s+(?:NOT\\s+)?EXISTS)?\\s*(${IDENT})?`, 'i');
const USE_LINE = new RegExp(`^USE\\s+(${IDENT})\\s*;?`, 'i');
const QUALIFIED_HEAD = new RegExp(
  `^${COMMENT_PREFIX}(?:INSERT\\s+(?:IGNORE\\s+)?INTO|REPLACE\\s+INTO|CREATE\\s+(?:OR\\s+REPLACE\\s+)?(?:TEMPORARY\\s+)?TABLE(?:\\s+IF\\s+NOT\\s+EXISTS)?|DROP\\s+(?:TABLE|VIEW)(?:\\s+IF\\s+EXISTS)?|LOCK\\s+TABLES|ALTER\\s+TABLE|TRUNCATE(?:\\s+TABLE)?|UPDATE|DELETE\\s+FROM|RENAME\\s+TABLE)\\s+(${IDENT})\\s*\\.\\s*${IDENT}`,
  'i',
);
const DELIMITER_LINE = /^DELIMITER\s+(\S+)/i;

const unquote = (s: string) => (s.startsWith('`') ? s.slice(1, -1).replace(/``/g, '`') : s);
const lastPart = (q: string) => {
  const m = new RegExp(`(${IDENT})\\s*$`).exec(q);
  return m ? unquote(m[1]!) : q;
};
const requote = (name: string) => '`' + name.replace(/`/g, '``') + '`';

const TRIGGER_HEAD = new RegExp(
  `(\\bTRIGGER\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?)(${QIDENT})(\\s+(?:BEFORE|AFTER)\\s+(?:INSERT|UPDATE|DELETE)(?:\\s+OR\\s+(?:INSERT|UPDATE|DELETE))*\\s+ON\\s+)(${QIDENT})(\\s+FOR\\s+EACH\\s+ROW\\b)`,
  'i',
);

/**
 * `CREATE … TRIGGER db.tr BEFORE INSERT ON db.t FOR EACH ROW …` → `… TRIGGER `tr` BEFORE INSERT ON `t` …`
 * (the trigger is then created in the session's default database). Text without a trigger head is returned as is.
 */
export function unqualifyTrigger(sql: string): string {
  return sql.replace(TRIGGER_HEAD, (_m, pre: string, name: string, mid: string, table: string, post: string) =>
    `${pre}${name.includes('.') ? requote(lastPart(name)) : name}${mid}${table.includes('.') ? requote(lastPart(table)) : table}${post}`);
}

export interface DumpFilterInfo {
  /** Databases the dump's CREATE/DROP DATABASE and USE lines named (dropped from the stream). */
  databasesNamed: string[];
  droppedLines: number;
  /** Triggers whose qualified name/table was made unqualified. */
  triggersUnqualified: number;
  hasEventsSection: boolean;
  hasRoutinesSection: boolean;
  /** Uncompressed bytes read. */
  bytes: number;
}

export class DumpFilter extends Transform {
  readonly info: DumpFilterInfo = { databasesNamed: [], droppedLines: 0, triggersUnqualified: 0, hasEventsSection: false, hasRoutinesSection: false, bytes: 0 };
  private tail: Buffer = Buffer.alloc(0);
  /** Bytes of the current line not yet decided (at most HEAD bytes, or the whole statement in a DELIMITER block). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** 'head': collecting the start of a line; 'pass'/'drop': rest of a decided line. */
  private mode: 'head' | 'pass' | 'drop' = 'head';
  private delimiter = ';';
  /** Lines of a statement inside a DELIMITER block. */
  private block: string[] = [];
  private blockBytes = 0;
  private static readonly HEAD = 1024;
  private static readonly MAX_BLOCK = 16 * 1024 * 1024;

  constructor(private readonly prefix?: Buffer) { super(); }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      if (this.prefix && this.info.bytes === 0 && chunk.length) this.push(this.prefix);
      this.info.bytes += chunk.length;
      this.keepTail(chunk);
      this.consume(chunk);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      if (this.pendingBytes) this.decideLine(Buffer.concat(this.pending), true);
      if (this.block.length) this.push(Buffer.from(this.block.join('')));
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  /** The last bytes of the dump, as text (for the trailer check). */
  tailText(): string { return this.tail.toString('utf8'); }

  private keepTail(chunk: Buffer): void {
    this.tail = chunk.length >= 512 ? chunk.subarray(chunk.length - 512) : Buffer.concat([this.tail, chunk]).subarray(-512);
  }

  private consume(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(0x0a, pos);
      const end = nl < 0 ? chunk.length : nl + 1;
      const piece = chunk.subarray(pos, end);
      pos = end;
      const complete = nl >= 0;
      if (this.mode === 'pass') { this.push(piece); if (complete) this.mode = 'head'; continue; }
      if (this.mode === 'drop') { if (complete) this.mode = 'head'; continue; }
      // head: collect until the line is complete, or (outside DELIMITER blocks) enough bytes to decide.
      this.pending.push(piece);
      this.pendingBytes += piece.length;
      const inBlock = this.delimiter !== ';';
      if (complete || (!inBlock && this.pendingBytes >= DumpFilter.HEAD)) {
        const line = Buffer.concat(this.pending);
        this.pending = [];
        this.pendingBytes = 0;
        this.decideLine(line, complete);
      } else if (inBlock && this.pendingBytes > DumpFilter.MAX_BLOCK) {
        throw new Error('a line inside a DELIMITER block of the dump is longer than 16 MiB');
      }
    }
  }

  /** `line` is a whole line (complete) or the first HEAD bytes of a long one (the rest follows in pass/drop mode). */
  private decideLine(line: Buffer, complete: boolean): void {
    if (this.delimiter !== ';') return this.blockLine(line.toString('utf8'));
    const text = line.subarray(0, DumpFilter.HEAD).toString('utf8').replace(/^\s+/, '');
    const keep = (): void => { this.push(line); if (!complete) this.mode = 'pass'; };
    const drop = (): void => { this.info.droppedLines++; if (!complete) this.mode = 'drop'; };
    if (text.startsWith('-- Dumping events for database')) this.info.hasEventsSection = true;
    if (text.startsWith('-- Dumping routines for database')) this.info.hasRoutinesSection = true;
    if (text.startsWith('--') || text === '') return keep();
    const d = DELIMITER_LINE.exec(text);
    if (d) { this.delimiter = d[1]!; return keep(); }
    const db = DATABASE_LINE.exec(text);
    if (db) { if (db[2]) this.named(unquote(db[2])); return drop(); }
    const use = USE_LINE.exec(text);
    if (use) { this.named(unquote(use[1]!)); return drop(); }
    const q = QUALIFIED_HEAD.exec(text);
    if (q) throw new Error(`the dump addresses a table in database "${unquote(q[1]!)}" by a qualified name (${text.slice(0, 120).trim()}…): refused, it could write outside the restore database`);
    return keep();
  }

  /** Inside `DELIMITER ;;`: collect a statement up to its delimiter, then unqualify a trigger head. */
  private blockLine(line: string): void {
    const trimmed = line.replace(/^\s+/, '');
    if (this.block.length === 0) {
      const d = DELIMITER_LINE.exec(trimmed);
      if (d) { this.delimiter = d[1]!; this.push(Buffer.from(line)); return; }
      const use = USE_LINE.exec(trimmed);
      if (use) { this.named(unquote(use[1]!)); this.info.droppedLines++; return; }
    }
    this.block.push(line);
    this.blockBytes += Buffer.byteLength(line);
    if (this.blockBytes > DumpFilter.MAX_BLOCK) throw new Error('a statement inside a DELIMITER block of the dump is longer than 16 MiB');
    if (line.replace(/\s+$/, '').endsWith(this.delimiter)) {
      const stmt = this.block.join('');
      this.block = [];
      this.blockBytes = 0;
      const out = unqualifyTrigger(stmt);
      if (out !== stmt) this.info.triggersUnqualified++;
      this.push(Buffer.from(out));
    }
  }

  private named(db: string): void {
    if (!this.info.databasesNamed.includes(db)) this.info.databasesNamed.push(db);
    if (this.info.databasesNamed.length > 1) {
      throw new Error(`the dump holds more than one database (${this.info.databasesNamed.join(', ')}): it is not the backup of one database`);
    }
  }
}
