// Runs graphql-http's server audit against the URL given as the first argument and prints
// one line per audit that is not "ok". Exits 1 when a MUST or SHOULD audit fails ("error" or
// "warn"); "notice" (MAY) lines are informational.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://127.0.0.1:PORT/graphql');
  process.exit(2);
}
const results = await auditServer({ url });
let failed = 0;
for (const result of results) {
  if (result.status !== 'ok') {
    console.log(`${result.status} ${result.id} ${result.name}${result.reason ? `: ${result.reason}` : ''}`);
  }
  if (result.status === 'error' || result.status === 'warn') failed += 1;
}
console.log(`${results.length} audits, ${failed} MUST/SHOULD failures`);
process.exit(failed === 0 ? 0 : 1);
