/**
 * What the tenant fan-out shows while it runs and when it ends: a progress bar on a terminal
 * (done / failed / running, ETA; log-update redraws it in place), plain lines otherwise (CI logs),
 * and the summary table. Every line shown has already been stripped of passwords by the runner.
 */
import { createLogUpdate } from "log-update";
import pc from "picocolors";
import type { FanOutEvent, TenantResult, TenantStatus } from "./runner/tenants.js";

type Print = (line?: string) => void;

export interface Progress {
  onEvent(e: FanOutEvent): void;
  /** Stops redrawing (the bar stays as last drawn). */
  stop(): void;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const firstLine = (s: string | undefined) => (s ?? "").split("\n")[0];

/** Plain lines: one per finished tenant (with [done/total]), and every runner line prefixed by its tenant. */
export function plainProgress(total: number, print: Print): Progress {
  let done = 0;
  return {
    onEvent(e) {
      if (e.type === "log") print(`  ${e.tenant}: ${e.line}`);
      else if (e.type === "done") {
        done++;
        const r = e.result;
        const what = r.status === "migrated" ? `ok ${r.tenant}: applied ${r.applied.length}, skipped ${r.skipped.length}` : `FAILED ${r.tenant}: ${firstLine(r.error)}`;
        print(`[${done}/${total}] ${what} (${seconds(r.durationMs)})`);
      }
    },
    stop() {},
  };
}

/** A bar redrawn in place; failures are printed above it as they happen. */
export function ttyProgress(total: number, stream: NodeJS.WriteStream): Progress {
  const draw = createLogUpdate(stream);
  const started = Date.now();
  let ok = 0;
  let failed = 0;
  let running = 0;
  const render = () => {
    const done = ok + failed;
    const width = 30;
    const filled = total ? Math.round((done / total) * width) : width;
    const eta = done > 0 && done < total ? `  ETA ${seconds(((Date.now() - started) / done) * (total - done))}` : "";
    draw(
      `${pc.cyan("█".repeat(filled))}${pc.dim("░".repeat(width - filled))} ${done}/${total}  ` +
        `${pc.green(`done ${ok}`)}  ${failed ? pc.red(`failed ${failed}`) : `failed 0`}  running ${running}${eta}`,
    );
  };
  const timer = setInterval(render, 1000);
  timer.unref();
  render();
  return {
    onEvent(e) {
      if (e.type === "start") running++;
      else if (e.type === "done") {
        running--;
        if (e.result.status === "migrated") ok++;
        else {
          failed++;
          draw.clear();
          stream.write(`${pc.red("FAILED")} ${e.result.tenant}: ${e.result.error ?? ""}\n`);
        }
      }
      render();
    },
    stop() {
      clearInterval(timer);
      render();
      draw.done();
    },
  };
}

/** The summary after a fan-out: every tenant when there are few, else the ones that did not finish. */
export function summaryLines(results: TenantResult[], wallMs: number, maxRows = 30): string[] {
  const failed = results.filter((r) => r.status === "failed");
  const notStarted = results.filter((r) => r.status === "not-started");
  const shown = results.length <= maxRows ? results : results.filter((r) => r.status !== "migrated");
  const rows = shown.map((r) => [r.tenant, r.status, String(r.applied.length), String(r.skipped.length), seconds(r.durationMs), firstLine(r.error)]);
  const lines = table(["tenant", "result", "applied", "skipped", "duration", "error"], rows);
  if (shown.length < results.length) lines.push(`(${results.length - shown.length} migrated tenants not listed; --report FILE has every tenant)`);
  const applied = results.reduce((n, r) => n + r.applied.length, 0);
  lines.push(
    `${results.length} tenant(s): ${results.length - failed.length - notStarted.length} migrated, ${failed.length} failed, ${notStarted.length} not started; ` +
      `${applied} migration(s) applied in ${seconds(wallMs)}`,
  );
  return lines;
}

/** `status` across tenants: one row per tenant with its counts. */
export function tenantStatusLines(statuses: TenantStatus[]): string[] {
  const rows = statuses.map((s) => {
    const c = s.counts;
    const problems = (["edited", "out-of-order", "blocked"] as const).filter((k) => c[k]).map((k) => `${k} ${c[k]}`);
    const note = s.error ? firstLine(s.error) : [...problems, ...s.details.filter((d) => d.state !== "pending").map((d) => d.tag)].join(", ");
    return [s.tenant, String(c.applied ?? 0), String(c.pending ?? 0), note];
  });
  const lines = table(["tenant", "applied", "pending", "problems"], rows);
  const upToDate = statuses.filter((s) => !s.error && s.details.length === 0).length;
  const pending = statuses.filter((s) => (s.counts.pending ?? 0) > 0).length;
  const bad = statuses.filter((s) => s.error || s.details.some((d) => d.state !== "pending")).length;
  lines.push(`${statuses.length} tenant(s): ${upToDate} up to date, ${pending} with pending migrations, ${bad} with problems`);
  return lines;
}

function table(head: string[], rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [fmt(head), ...rows.map(fmt)];
}
