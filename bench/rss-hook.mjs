// Loaded with `node --import` by bench/run.mjs: writes the process's peak RSS (KiB, every thread) when it exits.
import { writeFileSync } from "node:fs";

process.on("exit", () => writeFileSync(process.env.DRIZZLE_GUARD_RSS_FILE, String(process.resourceUsage().maxRSS)));
