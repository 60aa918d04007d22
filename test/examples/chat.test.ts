/**
 * examples/chat: the chat server and interactive clients as real processes, with typed clients in this
 * process beside them. A post reaches the other participants (a `posted` signal, then a fetch) and not the
 * poster; a killed client leaves the pool of participants; the schema's errors arrive typed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Chat, Chat_AlreadyJoinedError, Chat_NameTakenError, Chat_NotJoinedError } from "../../examples/chat/gen/chat.capnp.js";
import { killAll, Program } from "./support.js";

const dir = mkdtempSync(join(tmpdir(), "ipcgen-chat-test-"));
const path = join(dir, "chat.sock");

/** An interactive client process, once it has joined as `name`. */
async function participant(name: string): Promise<Program> {
  const client = new Program("examples/chat/client.ts", [path, name]);
  await client.waitFor(new RegExp(`^joined as ${name};`));
  return client;
}

beforeAll(async () => {
  await new Program("examples/chat/server.ts", [path]).waitFor(/listening/);
});

afterAll(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe("the chat example", () => {
  it("brings a post to every other participant through the signal and a fetch, not to the poster", async () => {
    const [ann, bob, carl] = [await participant("ann"), await participant("bob"), await participant("carl")];
    await using dora = await Chat.connect(path);
    let signals = 0;
    dora.on("posted", (count) => (signals += count));
    const { participants, next } = await dora.join({ name: "dora" });
    expect(participants).toEqual(["ann", "bob", "carl", "dora"]);
    await Promise.all([ann, bob, carl].map((c) => c.waitFor(/^\* dora joined$/)));

    ann.write("hello all");
    await Promise.all([bob, carl].map((c) => c.waitFor(/^ann: hello all$/)));
    await expect.poll(() => signals).toBeGreaterThan(0);
    const first = await dora.fetch({ since: next });
    expect(first.messages).toEqual([{ id: next, from: "ann", which: "text", text: "hello all" }]);

    // dora posts: the three processes print it; dora's own client hears nothing.
    signals = 0;
    const { id } = await dora.post({ text: "from dora" });
    expect(id).toBe(first.next);
    await Promise.all([ann, bob, carl].map((c) => c.waitFor(/^dora: from dora$/)));
    await new Promise((r) => setTimeout(r, 100));
    expect(signals).toBe(0);
    // Nor do the processes print their own posts.
    expect(ann.out).not.toContain("ann: hello all");

    // The next post by someone else brings a signal, and the fetch has both (dora's own included).
    bob.write("hi dora");
    await expect.poll(() => signals).toBeGreaterThan(0);
    const second = await dora.fetch({ since: first.next });
    expect(second.messages.map((m) => [m.from, m.which === "text" ? m.text : m.which])).toEqual([
      ["dora", "from dora"],
      ["bob", "hi dora"],
    ]);
    await Promise.all([ann.end(), bob.end(), carl.end()]);
  });

  it("takes a killed client out of the pool of participants, and the others see it leave", async () => {
    const [erin, fred, gina] = [await participant("erin"), await participant("fred"), await participant("gina")];
    await using watcher = await Chat.connect(path);
    expect((await watcher.participants()).names).toEqual(["erin", "fred", "gina"]);

    gina.child.kill("SIGKILL");
    await Promise.all([erin, fred].map((c) => c.waitFor(/^\* gina left$/)));
    expect((await watcher.participants()).names).toEqual(["erin", "fred"]);
    erin.write("/who");
    await erin.waitFor(/^here: erin, fred$/);

    // Its name is free again.
    const again = await participant("gina");
    expect((await watcher.participants()).names).toEqual(["erin", "fred", "gina"]);
    expect(await Promise.all([erin.end(), fred.end(), again.end()])).toEqual([0, 0, 0]);
    await expect.poll(async () => (await watcher.participants()).names).toEqual([]);
  });

  it("raises the schema's errors: posting or fetching before joining, a taken name, joining twice", async () => {
    await using hal = await Chat.connect(path);
    const notJoined = await hal.post({ text: "anyone?" }).catch((e: unknown) => e);
    expect(notJoined).toBeInstanceOf(Chat_NotJoinedError);
    expect((notJoined as Error).message).toBe("join the chat first");
    await expect(hal.fetch({ since: 0n })).rejects.toBeInstanceOf(Chat_NotJoinedError);

    await hal.join({ name: "hal" });
    const twice = await hal.join({ name: "hal9000" }).catch((e: unknown) => e);
    expect(twice).toBeInstanceOf(Chat_AlreadyJoinedError);
    expect((twice as Chat_AlreadyJoinedError).details).toEqual({ name: "hal" });

    await using other = await Chat.connect(path);
    const taken = await other.join({ name: "hal" }).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(Chat_NameTakenError);
    expect((taken as Chat_NameTakenError).details).toEqual({ name: "hal" });

    // The bounds of chat.capnp: a name of 32 bytes, a text of 1024.
    await expect(other.join({ name: "n".repeat(33) })).rejects.toThrow(/name holds 33 bytes, more than its bound of 32/);
    await expect(hal.post({ text: "t".repeat(1025) })).rejects.toThrow(/text holds 1025 bytes, more than its bound of 1024/);

    // The client program says so and exits 1.
    const impostor = new Program("examples/chat/client.ts", [path, "hal"]);
    expect(await impostor.end()).toBe(1);
    expect(impostor.err).toContain("chat: the name hal is taken");
  });

  it("runs as a demo: node --import tsx examples/chat/demo.ts exits 0", async () => {
    const demo = new Program("examples/chat/demo.ts");
    expect(await demo.end()).toBe(0);
    expect(demo.out).toContain("ann    | * bob left");
  });
});
