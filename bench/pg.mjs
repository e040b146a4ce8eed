// A PostgreSQL server for a benchmark: the one named by BENCH_PG_URL (or DRIZZLE_GUARD_TEST_PG_URL /
// DATABASE_URL), or else a throwaway cluster started here from the machine's PostgreSQL binaries
// (initdb + pg_ctl on 127.0.0.1, trust auth, fsync off), stopped and deleted when the process ends.
// PostgreSQL refuses to run as root: as root the cluster runs as the `nobody` user (setpriv).
// Returns undefined when there is neither a URL nor PostgreSQL on the machine.
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, chmodSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

function pgBin() {
  const roots = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of roots) {
    const dir = join("/usr/lib/postgresql", v, "bin");
    if (existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"))) return dir;
  }
  const r = spawnSync("pg_config", ["--bindir"], { encoding: "utf8" });
  const dir = r.status === 0 ? r.stdout.trim() : "";
  return dir && existsSync(join(dir, "initdb")) ? dir : undefined;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** { url, started, stop() } or undefined. */
export async function benchServer() {
  const given = process.env.BENCH_PG_URL ?? process.env.DRIZZLE_GUARD_TEST_PG_URL ?? process.env.DATABASE_URL;
  if (given) return { url: given, started: false, stop() {} };
  const bin = pgBin();
  if (!bin) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "dg-bench-pg-"));
  let as = [];
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync("id", ["-u", "nobody"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "nobody"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
    as = ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups"];
  }
  chmodSync(dir, 0o755);
  const run = (cmd, args) => {
    const full = [...as, join(bin, cmd), ...args];
    const r = spawnSync(full[0], full.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`);
  };
  const port = await freePort();
  const data = join(dir, "data");
  run("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync"]);
  run("pg_ctl", ["-D", data, "-l", join(dir, "server.log"), "-w", "-o", `-h 127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=200`, "start"]);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      run("pg_ctl", ["-D", data, "-m", "immediate", "stop"]);
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", stop);
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, started: true, stop };
}
