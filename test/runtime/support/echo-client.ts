/**
 * A client process for the runtime's tests: `node --import tsx echo-client.ts SOCKET MODE [ARG...]`.
 *   connect              log in, print {"ok":true} or {"error":NAME,"kind":...,"message":...}, exit
 *   join NAME            log in, join the "members" pool, print "joined", stay until killed
 *   load SESSIONS CALLS  open SESSIONS sessions, make CALLS calls on each (16 in flight), check every
 *                        answer against its request, print {"calls":N,"mismatches":M,"errors":E}
 */
import { Client } from "../../../runtime/rpc/service.js";
import { connect } from "../../../runtime/session/client.js";
import { echoService, loadEcho } from "./echo.js";

const [path, mode, ...args] = process.argv.slice(2);
const m = await loadEcho();
const service = echoService(m);

if (mode === "connect") {
  try {
    const session = await connect(path, { service });
    process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
    await session.close();
  } catch (err) {
    const e = err as Error & { kind?: string };
    process.stdout.write(`${JSON.stringify({ error: e.name, kind: e.kind, message: e.message })}\n`);
  }
} else if (mode === "join") {
  const session = await connect(path, { service });
  await new Client(session, service).oneWay("note", { text: `join:${args[0]}` });
  process.stdout.write("joined\n");
  setInterval(() => {}, 1 << 30);
} else if (mode === "load") {
  const [sessions, calls] = args.map(Number);
  let mismatches = 0;
  let errors = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: sessions }, async (_, s) => {
      const session = await connect(path, { service });
      const client = new Client(session, service);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < calls) {
          const i = next++;
          const text = `${process.pid}/${s}/${i}`;
          try {
            const answer = (await client.call("echo", { text })) as { text: string; session: bigint };
            if (answer.text !== text || answer.session !== session.token) mismatches++;
            done++;
          } catch {
            errors++;
          }
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      await session.close();
    }),
  );
  process.stdout.write(`${JSON.stringify({ calls: done, mismatches, errors })}\n`);
}
