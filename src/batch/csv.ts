/**
 * CSV records through csv-parse (RFC 4180: quoted fields, "" escapes, commas and newlines inside quotes, CRLF, LF or
 * CR), each with the line it starts on, from a stream (a file of any size, never one string) or from text in memory
 * (a request body). Syntax errors become CsvSyntaxError with a line and a fix, never the field's text: rows carry
 * secrets.
 */
import { CsvError, parse, type Info, type Options } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import type { Readable } from 'node:stream';

export interface CsvRecord {
  /** 1-based line where the record starts. */
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {}

/** No legitimate row comes near this; it stops an unclosed quote from reading the rest of a huge file into a field. */
export const MAX_RECORD_CHARS = 1024 * 1024;

const OPTIONS: Options = {
  bom: true, // spreadsheet exports start with one
  relax_column_count: true, // a row with the wrong number of cells is a bad row, reported by the caller
  skip_empty_lines: true, // blank lines (often the last one) are not records
  record_delimiter: ['\r\n', '\n', '\r'], // per line, so a file that mixes them still splits cleanly
  max_record_size: MAX_RECORD_CHARS,
};

/**
 * csv-parse reports where a record ends and counts skipped blank lines; the start line follows from the previous
 * record. It also counts a CRLF inside a quoted field as two lines, which is corrected here.
 */
class LineTracker {
  private lastEnd = 0;
  private lastEmpty = 0;
  private doubleCounted = 0;

  /** csv-parse options that turn each record into a CsvRecord as it is parsed, so an error knows where it is. */
  options(): Options {
    const onRecord = (fields: string[], info: Info): CsvRecord => this.record(fields, info);
    return { ...OPTIONS, on_record: onRecord as unknown as Options['on_record'] };
  }

  private record(fields: string[], info: Info): CsvRecord {
    const line = this.nextStart(info.empty_lines);
    for (const f of fields) if (f.includes('\r\n')) this.doubleCounted += f.split('\r\n').length - 1;
    this.lastEnd = info.lines - this.doubleCounted;
    this.lastEmpty = info.empty_lines;
    return { line, fields };
  }

  syntaxError(err: CsvError): CsvSyntaxError {
    const start = this.nextStart(Number(err.empty_lines ?? this.lastEmpty));
    const at = Math.max(start, Number(err.lines ?? start) - this.doubleCounted);
    switch (err.code) {
      case 'CSV_QUOTE_NOT_CLOSED':
        return new CsvSyntaxError(`line ${start}: a quoted field is never closed`);
      case 'CSV_MAX_RECORD_SIZE':
        return new CsvSyntaxError(
          `line ${start}: a row longer than ${MAX_RECORD_CHARS / 1048576} MB; is a quote left open?`,
        );
      case 'CSV_INVALID_CLOSING_QUOTE':
        return new CsvSyntaxError(`line ${at}: text after a closing quote; write "" for a quote inside a quoted field`);
      case 'INVALID_OPENING_QUOTE':
        return new CsvSyntaxError(
          `line ${at}: a quote inside a field that does not start with one; quote the whole field and write "" for the quote`,
        );
      default:
        // csv-parse's own messages can quote the field, which may be a secret: name the error, not the text.
        return new CsvSyntaxError(`line ${at}: not valid CSV (${err.code})`);
    }
  }

  private nextStart(emptyLines: number): number {
    return this.lastEnd + 1 + (emptyLines - this.lastEmpty);
  }
}

function rethrow(err: unknown, lines: LineTracker): never {
  throw err instanceof CsvError ? lines.syntaxError(err) : err;
}

/** Records from text already in memory (a request body). */
export function readCsv(text: string | Buffer): CsvRecord[] {
  const lines = new LineTracker();
  try {
    return parseSync(text, lines.options()) as unknown as CsvRecord[];
  } catch (err) {
    rethrow(err, lines);
  }
}

/** Records from a stream (a file), read as they arrive. */
export async function* streamCsv(input: Readable): AsyncGenerator<CsvRecord> {
  const lines = new LineTracker();
  const parser = input.pipe(parse(lines.options()));
  input.once('error', (err) => parser.destroy(err)); // pipe() does not forward a read error
  try {
    for await (const record of parser as AsyncIterable<CsvRecord>) yield record;
  } catch (err) {
    rethrow(err, lines);
  } finally {
    input.destroy(); // the caller may stop early (too many rows); close the file
  }
}
