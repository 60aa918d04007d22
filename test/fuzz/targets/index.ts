/** Every fuzz target, one per input path. */
import type { FuzzTarget } from "../engine.js";
import { framesTarget } from "./frames.js";
import { loginTarget } from "./login.js";
import { placedTarget } from "./placed.js";
import { plainTarget } from "./plain.js";
import { protocolTarget } from "./protocol.js";
import { ringsTarget } from "./rings.js";
import { sessionTarget } from "./session.js";

export const targets: FuzzTarget[] = [framesTarget, loginTarget, protocolTarget, plainTarget, placedTarget, ringsTarget, sessionTarget];
