// bench/ingest_duckdb.mjs - the reference bench/ingest sets our CSV parse
// against: DuckDB's read_csv (@duckdb/node-api, pinned in package.json)
// reading the same cost file.
//
//   node bench/ingest_duckdb.mjs --file FILE [--threads N] [--runs N]
//
// Every column is read as text (all_varchar, header from the file) and the
// query sums the lengths of all of them, so DuckDB must split and
// materialise every field of every row; count(*) alone would let it skip
// the columns.  The file is read once before timing (page cache warm, as
// for our parser).  --threads 1 is one core like our parser; without it
// DuckDB uses every core.  Prints one JSON object: the query, the
// threads DuckDB reports, the rows and total length it found (a check
// that everything was read), and the seconds of each run.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, openSync, readSync, closeSync } from 'node:fs';

const args = process.argv.slice(2);
let file = null;
let threads = null;
let runs = 3;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--file') file = args[++i];
  else if (args[i] === '--threads') threads = Number(args[++i]);
  else if (args[i] === '--runs') runs = Number(args[++i]);
  else {
    console.error(`ingest_duckdb: unknown option '${args[i]}'`);
    process.exit(2);
  }
}
if (!file || !(runs >= 1) || (threads !== null && !(threads >= 1))) {
  console.error('usage: node ingest_duckdb.mjs --file FILE [--threads N] [--runs N]');
  process.exit(2);
}

// The header line names the columns (the file's own spelling).
const fd = openSync(file, 'r');
const head = Buffer.alloc(64 * 1024);
const got = readSync(fd, head, 0, head.length, 0);
closeSync(fd);
let line = head.subarray(0, got).toString('utf8').split('\n')[0].replace(/\r$/, '');
if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
const columns = line.split(',');
const quote = (s) => '"' + s.replaceAll('"', '""') + '"';
const lit = (s) => "'" + s.replaceAll("'", "''") + "'";
const lengths = columns.map((c) => `coalesce(length(${quote(c)}), 0)`).join(' + ');
const query = `SELECT count(*) AS n, sum(${lengths}) AS chars ` +
  `FROM read_csv(${lit(file)}, all_varchar = true, header = true)`;

const options = threads === null ? {} : { threads: String(threads) };
const instance = await DuckDBInstance.create(':memory:', options);
const connection = await instance.connect();
const setting = (await connection.runAndReadAll(
  "SELECT current_setting('threads')::VARCHAR")).getRows()[0][0];

readFileSync(file); // warm the page cache, as our parser's run is
const seconds = [];
let n = null;
let chars = null;
for (let r = 0; r < runs; r++) {
  const t0 = process.hrtime.bigint();
  const rows = (await connection.runAndReadAll(query)).getRows();
  const t1 = process.hrtime.bigint();
  seconds.push(Number(t1 - t0) / 1e9);
  n = String(rows[0][0]);
  chars = String(rows[0][1]);
}
connection.closeSync?.();
console.log(JSON.stringify({
  query: `SELECT count(*), sum(length(c1) + ... + length(c${columns.length})) ` +
    `FROM read_csv(FILE, all_varchar = true, header = true)`,
  threads: Number(setting),
  columns: columns.length,
  rows: Number(n),
  chars,
  seconds,
}));
