/**
 * A target with a planted bug behind nested byte comparisons: blind mutation rarely gets past them (about
 * 1 in 2^16 random inputs, far fewer mutants), coverage feedback does it in a few thousand runs. fuzz.test.ts checks that the
 * engine finds it and minimizes it, so that a quiet run of the real targets means something.
 */
import type { FuzzTarget } from "../engine.js";

export const plantedTarget: FuzzTarget = {
  name: "planted",
  describe: "a planted TypeError behind the bytes 'F' and 'U' at positions 3 and 5",
  modules: ["test/fuzz/targets/planted.ts"],
  maxLen: 8,
  seeds: () => [new Uint8Array(8)],
  run(input) {
    if (input.length > 5 && input[3] === 0x46) {
      if (input[5] === 0x55) throw new TypeError("planted");
    }
  },
};
