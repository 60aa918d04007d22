/**
 * The chat server. It keeps the room's recent history and a directory of participants: what one session may
 * know of the others (name, pid, and the remote to signal), apart from the sessions themselves. A post
 * signals every other participant, which then fetches what is new; a session's end, however it comes,
 * takes its participant out of the directory and tells the others.
 *
 * Run: npx tsx examples/chat/server.ts [SOCKET]
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Directory } from "ipcgen";
import { Chat, Chat_AlreadyJoinedError, Chat_NameTakenError, Chat_NotJoinedError, type ChatHandler, type ChatRemote, type Message } from "./gen/chat.capnp.js";

/** A participant as the other sessions see it. */
interface Participant {
  name: string;
  pid: number;
  remote: ChatRemote;
}

/** What a message says: its union's arm. */
type Body = { which: "text"; text: string } | { which: "joined" } | { which: "left" };

/** How many messages the server keeps (chat.capnp bounds `fetch` to as many). */
const HISTORY = 100;

const path = process.argv[2] ?? join(tmpdir(), "ipcgen-chat.sock");
const participants = new Directory<Participant>("participants");
const history: Message.Plain[] = [];
let nextId = 1n;

/** Adds a message by `from` to the history, signals everyone else, and answers the message's number. */
function record(from: Participant, body: Body): bigint {
  const message: Message.Plain = { id: nextId++, from: from.name, ...body };
  history.push(message);
  if (history.length > HISTORY) history.shift();
  for (const other of participants.list()) if (other !== from) other.remote.posted();
  return message.id;
}

const names = (): string[] => participants.list().map((p) => p.name);

/** One session's handler: `me` is set by `join`. */
function session(remote: ChatRemote): ChatHandler {
  let me: Participant | null = null;
  const joined = (): Participant => {
    if (me === null) throw new Chat_NotJoinedError({}, "join the chat first");
    return me;
  };
  void remote.session.closed.then(() => {
    if (me === null) return;
    console.log(`${me.name} left`);
    record(me, { which: "left" }); // the directory drops `me` on its own
  });

  return {
    join({ name }) {
      if (me !== null) throw new Chat_AlreadyJoinedError({ name: me.name }, `this session has joined as ${me.name}`);
      if (participants.find((p) => p.name === name)) throw new Chat_NameTakenError({ name }, `the name ${name} is taken`);
      me = { name, pid: remote.credentials?.pid ?? 0, remote };
      participants.publish(remote.session, me);
      console.log(`${name} joined (pid ${me.pid})`);
      // Its own fetches start after its own "joined".
      return { participants: names(), next: record(me, { which: "joined" }) + 1n };
    },
    post({ text }) {
      return { id: record(joined(), { which: "text", text }) };
    },
    fetch({ since }) {
      joined();
      return { messages: history.filter((m) => m.id >= since), next: nextId };
    },
    participants: () => ({ names: names() }),
  };
}

const server = await Chat.listen(path, session);
console.log(`chat: listening on ${path}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void server.close());
}
