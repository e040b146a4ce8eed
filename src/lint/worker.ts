/** A lint worker thread (see parallel.ts): lints the chunks of files it is sent, replies with the reports. */
import { parentPort, workerData } from "node:worker_threads";
import { lintFile, type FileReport } from "./lint.js";
import { serializeError, type WorkerData, type WorkerReply, type WorkerRequest } from "./parallel.js";

const { approvals, cwd, levels } = workerData as WorkerData;

parentPort!.on("message", (m: WorkerRequest) => {
  const reports: FileReport[] = [];
  let reply: WorkerReply;
  try {
    for (const f of m.files) reports.push(lintFile(f, approvals, cwd, levels));
    reply = { from: m.from, reports };
  } catch (e) {
    reply = { from: m.from, failedAt: m.from + reports.length, error: serializeError(e) };
  }
  parentPort!.postMessage(reply);
});
