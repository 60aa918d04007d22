/**
 * The chat example in one go: starts the server, lets ann and bob talk, shows a taken name refused, and
 * bob leaving, then stops the server.
 *
 * Run: node --import tsx examples/chat/demo.ts
 */
import { Program, withServer } from "../programs.js";

const client = new URL("client.ts", import.meta.url);
await withServer("chat", import.meta.url, async (path) => {
  const ann = new Program("ann", client, [path, "ann"]);
  await ann.waitFor(/joined as ann/);
  const bob = new Program("bob", client, [path, "bob"]);
  await bob.waitFor(/joined as bob/);
  await ann.waitFor(/\* bob joined/);

  ann.write("hello bob");
  await bob.waitFor(/ann: hello bob/);
  bob.write("hi ann, who else is here?");
  await ann.waitFor(/bob: hi ann/);

  // A second "ann" is refused: the name is taken.
  const impostor = new Program("ann?", client, [path, "ann"]);
  if ((await impostor.end()) !== 1) throw new Error("a taken name was accepted");

  ann.write("/who");
  await ann.waitFor(/here: ann, bob/);
  if ((await bob.end()) !== 0) throw new Error("bob's client failed");
  await ann.waitFor(/\* bob left/);
  if ((await ann.end()) !== 0) throw new Error("ann's client failed");
});
