/**
 * A chat client: joins as NAME, posts each line of standard input, and prints what the others post as it
 * arrives (the server signals `posted`, the client fetches). `/who` lists the participants; end of input
 * leaves.
 *
 * Run: npx tsx examples/chat/client.ts [SOCKET] NAME
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { SessionEndedError } from "ipcgen";
import { Chat, Chat_NameTakenError, type Message } from "./gen/chat.capnp.js";

const args = process.argv.slice(2);
const [path, name] = args.length > 1 ? args : [join(tmpdir(), "ipcgen-chat.sock"), args[0]];
if (!name) {
  console.error("usage: client.ts [SOCKET] NAME");
  process.exit(2);
}

function fail(message: string): never {
  console.error(`chat: ${message}`);
  process.exit(1);
}

await using chat = await Chat.connect(path).catch((err: Error) => fail(err.message));
const { participants, next } = await chat.join({ name }).catch((err: unknown) => {
  if (err instanceof Chat_NameTakenError) fail(`the name ${err.details.name} is taken`);
  if (err instanceof RangeError) fail(`that name is too long (${err.message})`);
  throw err;
});
console.log(`joined as ${name}; here: ${participants.join(", ")}`);

void chat.session.closed.then((why) => {
  if (why.cause !== "closed-locally") fail(why.message);
});

function show(message: Message.Plain): void {
  if (message.from === name) return; // what we posted ourselves
  if (message.which === "text") console.log(`${message.from}: ${message.text}`);
  else if (message.which === "joined") console.log(`* ${message.from} joined`);
  else if (message.which === "left") console.log(`* ${message.from} left`);
}

// Others' posts: each `posted` delivery (several coalesce into one) means "fetch what is new".
let since = next;
const incoming = (async () => {
  for await (const _ of chat.posted()) {
    const fetched = await chat.fetch({ since });
    fetched.messages.forEach(show);
    since = fetched.next;
  }
})().catch((err: unknown) => {
  if (!(err instanceof SessionEndedError)) throw err; // a fetch the session's end cut short
});

for await (const line of createInterface({ input: process.stdin })) {
  const text = line.trim();
  if (text === "") continue;
  if (text === "/who") {
    console.log(`here: ${(await chat.participants()).names.join(", ")}`);
    continue;
  }
  await chat.post({ text }).catch((err: unknown) => {
    if (!(err instanceof RangeError)) throw err;
    console.error(`chat: not posted: ${err.message}`);
  });
}

await chat.close(); // ends the loop above
await incoming;
