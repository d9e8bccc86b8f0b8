import { describe, expect, it } from "vitest";
import { pumpChunks } from "../../src/storage/pump_chunks.ts";

/** A byte stream that enqueues `pieces` then, unless `close`, never delivers again. */
function stream(pieces: Uint8Array[], close: boolean): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (next < pieces.length) controller.enqueue(pieces[next++]);
      else if (close) {
        controller.close();
        controller.byobRequest?.respond(0); // a pending BYOB read ends only once answered
      }
      // Otherwise the pull stays unanswered: the read waits for ever.
    },
  });
}

const collect = () => {
  const got: [number, number[]][] = [];
  return { got, sink: (chunk: Uint8Array, at: number) => void got.push([at, [...chunk]]) };
};
const fail = (cause: unknown, filled: number) => new Error(`read failed after ${filled}: ${cause}`);

describe("pumpChunks()", () => {
  it("hands every chunk to the sink with its position and stops at length without waiting for the end", async () => {
    const { got, sink } = collect();
    const r = await pumpChunks(stream([Uint8Array.of(1, 2), Uint8Array.of(3)], false), 3, sink, fail, {
      untilEnd: false,
    });
    expect(r).toEqual({ filled: 3, ended: false });
    expect(got.map(([at, bytes]) => [at, bytes.join()])).toEqual([[0, "1,2"], [2, "3"]]);
  });

  it("with untilEnd, a stream longer than length is reported as not ended", async () => {
    const { sink } = collect();
    const r = await pumpChunks(stream([Uint8Array.of(1, 2, 3, 4)], true), 3, sink, fail, { untilEnd: true });
    expect(r).toEqual({ filled: 3, ended: false });
    const exact = await pumpChunks(stream([Uint8Array.of(1, 2, 3)], true), 3, sink, fail, { untilEnd: true });
    expect(exact).toEqual({ filled: 3, ended: true });
  });

  it("a stream that stops delivering mid-way ends the pump as stalled after stallMs, with what came before", async () => {
    const { got, sink } = collect();
    const r = await pumpChunks(stream([Uint8Array.of(7, 8)], false), 5, sink, fail, { untilEnd: false, stallMs: 50 });
    expect(r).toEqual({ filled: 2, ended: false, stalled: true });
    expect(got).toEqual([[0, [7, 8]]]);
  });
});
