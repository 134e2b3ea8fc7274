// adif-parser-ts 0.7.7, the peer of parex's ADIF reader.
//   node run.js json FILE         the parse as JSON on stdout: {"header": {...}, "records": [...]}
//   node run.js time FILE REPS    parses REPS times; prints {"records": N, "bytes": B, "seconds": [...]},
//                                 the time of AdifParser.parseAdi alone (the file is read and decoded
//                                 as UTF-8 before the clock starts, as parex's timing excludes reading)
'use strict';
const fs = require('fs');
const { AdifParser } = require('adif-parser-ts');

const [mode, file, reps] = process.argv.slice(2);
const bytes = fs.readFileSync(file);
const text = bytes.toString('utf8');
if (mode === 'json') {
  process.stdout.write(JSON.stringify(AdifParser.parseAdi(text)));
} else if (mode === 'time') {
  const seconds = [];
  let records = 0;
  for (let i = 0; i < Number(reps || 1); ++i) {
    const t0 = process.hrtime.bigint();
    const parsed = AdifParser.parseAdi(text);
    seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
    records = (parsed.records || []).length;
  }
  process.stdout.write(JSON.stringify({ records, bytes: bytes.length, seconds }));
} else {
  process.stderr.write('usage: node run.js json|time FILE [REPS]\n');
  process.exit(2);
}
