// The child_process IPC row's server, started with `child_process.fork` (JSON serialization): it sends back
// every message it gets, as it got it. Exits when the IPC channel closes (its parent ended or disconnected).
import { allowedCpus } from "./common.mjs";

if (process.send === undefined) {
  console.error("ipc-server: not started with an IPC channel (use child_process.fork)");
  process.exit(1);
}
process.on("message", (message) => {
  process.send(message);
});
process.on("disconnect", () => process.exit(0));
process.send({ ready: true, pid: process.pid, cpus: allowedCpus() });
