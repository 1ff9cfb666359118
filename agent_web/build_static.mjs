// Copies (and where needed bundles) the console's npm packages into agent_web/static/vendor.
// JsSIP ships CommonJS sources only, so esbuild bundles it into one browser script (window.JsSIP).
import { mkdirSync, copyFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");  // agent_web/ -> repo
const vendor = join(root, "agent_web", "static", "vendor");
mkdirSync(vendor, { recursive: true });

const copies = [
  ["chart.js/dist/chart.umd.min.js", "chart.umd.min.js"],
  // the API explorer at /docs, served from here so it works without the internet
  ["swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-bundle.js"],
  ["swagger-ui-dist/swagger-ui.css", "swagger-ui.css"],
  ["swagger-ui-dist/favicon-32x32.png", "swagger-favicon.png"],
];
for (const [from, to] of copies) {
  copyFileSync(join(root, "node_modules", from), join(vendor, to));
}

await build({
  entryPoints: [join(root, "node_modules", "jssip", "lib", "JsSIP.js")],
  bundle: true,
  minify: true,
  format: "iife",
  globalName: "JsSIP",
  platform: "browser",
  target: ["chrome110", "firefox110", "safari16"],
  outfile: join(vendor, "jssip.min.js"),
  logLevel: "warning",
});
console.log(`vendor: ${copies.length + 1} file(s) in ${vendor}`);
