// Runs one browser scenario against a served board: node run.mjs <scenario>.
// Environment: BOARD_URL, CHROMIUM (default /usr/bin/chromium), SCREENSHOTS. Exit code 0 = passed.
import { launch } from "./harness.mjs";

const name = process.argv[2];
const scenarios = await import("./scenarios.mjs");
const scenario = scenarios[name];
if (!scenario) {
  console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
const browser = await launch();
try {
  await scenario(browser);
  console.log(`scenario ${name} passed`);
} finally {
  await browser.close();
}
