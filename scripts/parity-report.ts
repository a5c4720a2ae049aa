/**
 * Prints the table `npm run parity` ends with, from the results test/parity wrote: per pipeline,
 * cases compared, identical, within tolerance, different (of which documented), worst case.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface Row {
  family: string;
  cases: number;
  identical: number;
  withinTolerance?: number;
  different: number;
  documented?: number;
  worst?: string;
}

const dir = process.argv[2] ?? ".cache/parity/results";
const files = existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .sort()
  : [];
console.log("\n| pipeline | case set | compared | identical | within tolerance | different (documented) | worst case |");
console.log("|---|---|---|---|---|---|---|");
for (const file of files) {
  for (const row of JSON.parse(readFileSync(join(dir, file), "utf8")) as Row[]) {
    const worst = (row.worst ?? "").replaceAll("|", "\\|");
    console.log(
      `| ${file.replace(/\.json$/, "")} | ${row.family} | ${row.cases} | ${row.identical} | ${row.withinTolerance ?? 0} | ${row.different} (${row.documented ?? 0}) | ${worst} |`,
    );
  }
}
if (files.length === 0) console.log(`(no results in ${dir})`);
