import { expect, test } from "vitest";
import { invariant, InvariantError, WebdcpError } from "../../src/errors/mod.ts";

test("invariant() passes a state that holds and throws an InvariantError, not a WebdcpError, for one that does not", () => {
  expect(() => invariant(1, "holds")).not.toThrow();
  let thrown: unknown;
  try {
    invariant(undefined, "the plan lists every key");
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(InvariantError);
  expect(thrown).not.toBeInstanceOf(WebdcpError);
  expect((thrown as Error).message).toBe("invariant broken: the plan lists every key");
});
