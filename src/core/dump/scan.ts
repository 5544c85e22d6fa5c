import { Transform, type TransformCallback } from 'node:stream';

export type DumpEngine = 'postgres' | 'mysql';

/** The last line a complete dump writes. */
export const TRAILERS: Record<DumpEngine, string> = {
  postgres: '-- PostgreSQL database dump complete',
  mysql: '-- Dump completed',
};

const PREFIX_LEN = 24;
const TAIL_LEN = 1024;
/** A line that creates a table: `CREATE TABLE public.x (`, `CREATE UNLOGGED TABLE …`, mysqldump's ``CREATE TABLE `x` (``. */
const CREATE_TABLE_RE = /^CREATE (?:UNLOGGED |TEMPORARY |TEMP )?TABLE /;
const CREATE = Buffer.from('CREATE ');
/** Bytes after a newline needed to decide whether its line creates a table. */
const LOOKAHEAD = PREFIX_LEN + 1;

/**
 * Scans the UNCOMPRESSED text of a dump as it streams: counts lines that start with `CREATE TABLE`
 * and keeps the last 1 KiB to check the trailer. Lines are found with Buffer.indexOf on "CREATE "
 * (native, no per-line JavaScript: the data rows of a 1 GB dump cost next to nothing), safe across chunk
 * boundaries (the last bytes of a chunk are looked at again with the next one).
 * Counting at line start (not `grep -c` anywhere in a line) ignores data rows that merely contain the words.
 */
export class DumpScanner {
  tables = 0;
  bytes = 0;
  /** Not yet decided: from the last newline that may start a CREATE line (the stream starts as after one). */
  private pending: Buffer = Buffer.from('\n');
  private tail: Buffer = Buffer.alloc(0);

  constructor(readonly engine: DumpEngine) {}

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (chunk.length < 2 * LOOKAHEAD) {
      // Small chunk: join it to the undecided bytes (cheap at this size).
      const data = Buffer.concat([this.pending, chunk]);
      const limit = data.length - LOOKAHEAD; // newlines from here on lack the look-ahead
      this.count(data, limit);
      this.pending = data.subarray(Math.max(0, limit));
    } else {
      // The undecided bytes with the head of this chunk, then the chunk itself, without copying it.
      if (this.pending.length) this.count(Buffer.concat([this.pending, chunk.subarray(0, LOOKAHEAD)]), this.pending.length);
      this.count(chunk, chunk.length - LOOKAHEAD);
      this.pending = Buffer.from(chunk.subarray(chunk.length - LOOKAHEAD));
    }
    this.tail = chunk.length >= TAIL_LEN ? Buffer.from(chunk.subarray(chunk.length - TAIL_LEN)) : Buffer.concat([this.tail, chunk]).subarray(-TAIL_LEN);
  }

  /** Counts the CREATE TABLE lines of `data` whose preceding newline is before `limit`. */
  private count(data: Buffer, limit: number): void {
    // Searching "CREATE " and then looking one byte back is far faster than searching "\nCREATE "
    // (newlines are everywhere in a dump, capital C followed by "REATE " is not).
    for (let j = data.indexOf(CREATE, 1); j !== -1 && j - 1 < limit; j = data.indexOf(CREATE, j + 1)) {
      if (data[j - 1] === 10 && CREATE_TABLE_RE.test(data.toString('latin1', j, j + PREFIX_LEN))) this.tables++;
    }
  }

  /** Call once at the end of the stream (decides the last, unterminated lines). */
  finish(): { tables: number; trailer: boolean; bytes: number } {
    this.count(this.pending, this.pending.length);
    this.pending = Buffer.alloc(0);
    return { tables: this.tables, trailer: this.hasTrailer(), bytes: this.bytes };
  }

  /** The trailer is among the last lines (only blank lines, `--` and pg_dump >= 15.14's `\unrestrict <key>` may follow it). */
  hasTrailer(): boolean {
    const text = this.tail.toString('utf8');
    const i = text.lastIndexOf(TRAILERS[this.engine]);
    if (i < 0) return false;
    const after = text.slice(i).split('\n').slice(1);
    return after.every((l) => /^(?:\s*|--\s*|\\unrestrict \S+\s*)$/.test(l));
  }
}

/** A pass-through stream that feeds every chunk to a DumpScanner. */
export function scanningTransform(scanner: DumpScanner): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      scanner.push(chunk);
      cb(null, chunk);
    },
  });
}
