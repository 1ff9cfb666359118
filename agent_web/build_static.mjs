// Copies (and where needed bundles) the console's npm packages into agent_web/static/vendor.
import { mkdirSync, copyFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");  // agent_web/ -> repo
const vendor = join(root, "agent_web", "static", "vendor");
mkdirSync(vendor, { recursive: true });

const copies = [["htmx.org/dist/htmx.min.js", "htmx.min.js"]];
for (const [from, to] of copies) {
  copyFileSync(join(root, "node_modules", from), join(vendor, to));
}
console.log(`vendor: ${copies.length} file(s) in ${vendor}`);
