import { chromium } from "playwright-core";
const base = process.argv[2]; const outs = process.argv.slice(3);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox","--disable-gpu","--disable-quic","--no-first-run","--disable-background-networking","--disable-component-update","--disable-sync"] });
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
page.on("console", (m) => console.log("console:", m.type(), m.text()));
for (const o of outs) {
  const [hash, file] = o.split("=");
  await page.goto(base + "/app/" + hash);
  await page.waitForTimeout(1500);
  await page.screenshot({ path: "test-results/" + file, fullPage: true });
}
await browser.close();
