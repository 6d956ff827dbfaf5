/**
 * Batch files read from disk as a stream (csv-parse, node:readline) and from memory (a request body) give the same
 * rows, the same line numbers and the same errors; a big file is never held as one string. No server needed.
 */
import { mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../dev/local-stack/processes.js';
import { BatchFileError, CSV_COLUMNS, parseBatchText, readBatchFile } from '../src/batch/parse-file.js';

const execFileAsync = promisify(execFile);

let dir: string;
beforeAll(() => {
  mkdirSync(join(process.cwd(), '.tmp', 'test'), { recursive: true });
  dir = mkdtempSync(join(process.cwd(), '.tmp', 'test', 'batch-file-'));
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const HEADER = 'accountId,connectorId,authValue,description\r\n';

test('a spreadsheet export (BOM, CRLF, blank lines, a multi-line quoted cell) gives the same rows and lines from disk and from memory', async () => {
  const text =
    '\ufeff' + HEADER + 'a1,1001,k1,"first\r\nsecond"\r\n' + '\r\n' + 'a2,1001,"k,2",plain\r\n' + 'a3,1001,k3\r\n';
  const fromDisk = await readBatchFile(file('export.csv', text));
  expect(fromDisk).toEqual(parseBatchText(text, 'csv'));
  expect(fromDisk.rows.map((r) => [r.line, r.request.accountId])).toEqual([
    [2, 'a1'],
    [5, 'a2'],
  ]);
  expect(fromDisk.rows[0]!.request.description).toBe('first\r\nsecond');
  expect(fromDisk.rows[1]!.request.authValue).toBe('k,2');
  expect(fromDisk.rejected).toEqual([{ line: 6, type: 'InvalidRow', message: 'has 3 columns; the header has 4' }]);
  expect(fromDisk.total).toBe(3);
});

test('a quote left open is refused with the line the row starts on, from disk and from memory', async () => {
  const text = HEADER + 'a1,1001,k1,"one\r\ntwo"\r\n\r\na2,1001,k2,"never closed\r\nmore\r\n';
  const expected = 'malformed CSV: line 5: a quoted field is never closed';
  await expect(readBatchFile(file('open.csv', text))).rejects.toThrow(expected);
  expect(() => parseBatchText(text, 'csv')).toThrow(expected);
});

test('a quote left open in a big file stops at the first overlong row instead of reading the rest into one cell', async () => {
  const text = HEADER + 'a1,1001,k1,"open\n' + 'more text,\n'.repeat(120_000);
  await expect(readBatchFile(file('runaway.csv', text))).rejects.toThrow(
    'malformed CSV: line 2: a row longer than 1 MB; is a quote left open?',
  );
});

test('a stray quote inside an unquoted cell is refused with the line and the fix, without echoing the cell', () => {
  const attempt = () => parseBatchText(HEADER + 'a1,1001,sec"ret-key,d\n', 'csv');
  expect(attempt).toThrow(BatchFileError);
  expect(attempt).toThrow(
    'malformed CSV: line 2: a quote inside a field that does not start with one; quote the whole field and write "" for the quote',
  );
  expect(attempt).not.toThrow(/sec|ret-key/);
});

test('JSONL from disk gives the same rows and lines as from memory, CRLF included', async () => {
  const text = '{"accountId":"a","connector":{"id":1}}\r\n\r\n{not json\r\n{"accountId":"b","connector":{"id":1}}';
  const fromDisk = await readBatchFile(file('rows.jsonl', text));
  expect(fromDisk).toEqual(parseBatchText(text, 'jsonl'));
  expect(fromDisk.rows.map((r) => r.line)).toEqual([1, 4]);
  expect(fromDisk.rejected).toEqual([
    { line: 3, type: 'InvalidRow', message: 'not valid JSON: each line must be one JSON object' },
  ]);
});

test('a file that cannot be read is one clear error naming it', async () => {
  const path = join(dir, 'a-directory.csv');
  mkdirSync(path);
  await expect(readBatchFile(path)).rejects.toThrow(`cannot read ${path}: EISDIR`);
});

// Measured in a child whose heap is capped below the file's size: a reader that loads the whole file dies there, a
// streaming one finishes. (Sampling heapUsed in this process counted uncollected garbage and failed at random.)
const HEAP_CAP_MB = 40;
const FILE_MB = 64;

/** A FILE_MB file of two rows and filler the parsers skip (blank CSV lines; whitespace-only JSONL lines), so only a
 * reader that loads the whole file pays for its size. */
function bigFile(format: 'csv' | 'jsonl'): { path: string; lastLine: number } {
  const path = join(dir, `big.${format}`);
  const fd = openSync(path, 'w');
  writeSync(fd, format === 'csv' ? 'accountId,connectorId,authValue\na1,1001,k\n' : '{"accountId":"a1"}\n');
  const filler = Buffer.from(format === 'csv' ? '\n'.repeat(1 << 20) : (' '.repeat(1023) + '\n').repeat(1024));
  for (let i = 0; i < FILE_MB; i++) writeSync(fd, filler);
  writeSync(fd, format === 'csv' ? 'a2,1001,k\n' : '{"accountId":"a2"}\n');
  closeSync(fd);
  return { path, lastLine: (format === 'csv' ? FILE_MB * (1 << 20) : FILE_MB * 1024) + (format === 'csv' ? 3 : 2) };
}

test.each(['csv', 'jsonl'] as const)(
  `a ${FILE_MB} MB %s file is read as a stream under a ${HEAP_CAP_MB} MB heap`,
  async (format) => {
    const { path, lastLine } = bigFile(format);

    const parser = join(PROJECT_ROOT, 'src', 'batch', 'parse-file.ts');
    const script =
      `const { readBatchFile } = await import(${JSON.stringify(parser)});` +
      `const p = await readBatchFile(${JSON.stringify(path)});` +
      'console.log(JSON.stringify({ total: p.total, lines: [...p.rows, ...p.rejected].map((r) => r.line) }));';
    const { stdout } = await execFileAsync(
      process.execPath,
      [`--max-old-space-size=${HEAP_CAP_MB}`, '--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: PROJECT_ROOT },
    );
    const parsed = JSON.parse(stdout) as { total: number; lines: number[] };
    expect(parsed.total).toBe(2);
    expect(parsed.lines).toContain(lastLine);
  },
  60_000,
);

test('the heap cap is tight enough that a reader loading the whole file fails', async () => {
  const { path } = bigFile('jsonl');
  const script = `import { readFileSync } from 'node:fs'; readFileSync(${JSON.stringify(path)}, 'utf8').split('\\n');`;
  await expect(
    execFileAsync(process.execPath, [`--max-old-space-size=${HEAP_CAP_MB}`, '--input-type=module', '-e', script]),
  ).rejects.toThrow(/heap out of memory/);
}, 60_000);

/** The README's "Batch files" section: its two examples and its column table, as a reader sees them. */
function readmeBatchFiles(): { csv: string; jsonl: string; columns: string[] } {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^#{2,3} /m).find((s) => s.startsWith('Batch files\n'));
  if (!section) throw new Error('README.md has no "### Batch files" section');
  const block = (lang: string) => {
    const code = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section)?.[1];
    if (!code) throw new Error(`README.md's "Batch files" has no \`\`\`${lang} example`);
    return code;
  };
  const columns = [...section.matchAll(/^\| `([^`]+)` +\|/gm)].map((m) => m[1]!);
  return { csv: block('csv'), jsonl: block('jsonl'), columns };
}

test("the README's CSV and JSONL examples parse with the real parser, every row valid, to the same requests", async () => {
  const { csv, jsonl } = readmeBatchFiles();
  const fromCsv = await readBatchFile(file('readme.csv', csv));
  const fromJsonl = await readBatchFile(file('readme.jsonl', jsonl));
  expect(fromCsv.rejected).toEqual([]);
  expect(fromJsonl.rejected).toEqual([]);
  expect(fromCsv.rows).toHaveLength(3);
  expect(fromCsv.rows.map((r) => r.request)).toEqual(fromJsonl.rows.map((r) => r.request));
  // Every kind of column the table describes is exercised: nested objects, numbers, booleans, properties.
  expect(fromCsv.rows[1]!.request).toMatchObject({
    connector: { id: 1001 },
    properties: [{ name: 'Region', value: 'eu' }],
  });
  expect(fromCsv.rows[0]!.request).toMatchObject({ account: { create: true }, timeouts: { consent: '7d' } });
});

test("the README's column table lists exactly the columns the parser accepts", () => {
  expect(readmeBatchFiles().columns).toEqual([...CSV_COLUMNS, 'property.<Name>']);
});

test('a row that is not a valid request is rejected as InvalidRow, as the README says, naming the field', () => {
  const csv = parseBatchText('accountId,connectorName,returnUrl,username\na1,HubSpot,not-a-url,jo\n', 'csv');
  const jsonl = parseBatchText('{"accountId":"a1","connector":{"name":"HubSpot"},"colour":"red"}\n', 'jsonl');
  expect(csv.rejected).toEqual([{ line: 2, type: 'InvalidRow', message: expect.stringContaining('oauth.returnUrl') }]);
  expect(jsonl.rejected).toEqual([{ line: 1, type: 'InvalidRow', message: expect.stringContaining('colour') }]);
});
