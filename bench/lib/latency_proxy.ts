/**
 * A TCP proxy on 127.0.0.1 that holds every byte `delayMs` before passing it on, in each direction: a round
 * trip of `2 * delayMs` in front of a loopback server, as an object store in another building or region has,
 * while bulk transfers keep their bandwidth (bytes in flight are not limited). For the benchmarks that show
 * what round trips cost a client (requests made one after another), which a loopback server hides.
 */
export interface LatencyProxy {
  /** `http://127.0.0.1:<port>`, forwarding to the upstream's host and port. */
  endpoint: string;
  close(): Promise<void>;
}

export function startLatencyProxy(upstream: string, delayMs: number): LatencyProxy {
  const target = new URL(upstream);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const serving = (async () => {
    for await (const client of listener) {
      open.add(client);
      const dial = Deno.connect({ hostname: target.hostname, port: Number(target.port) });
      dial.then((server) => {
        open.add(server);
        const done = () => {
          for (const c of [client, server]) {
            open.delete(c);
            try {
              c.close();
            } catch { /* closed already */ }
          }
        };
        Promise.all([delayed(client, server, delayMs), delayed(server, client, delayMs)]).finally(done);
      }, () => client.close());
    }
  })();
  return {
    endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    async close() {
      listener.close();
      for (const c of open) {
        try {
          c.close();
        } catch { /* closed already */ }
      }
      await serving.catch(() => {});
    },
  };
}

/** Copies `from` to `to`, each chunk written `delayMs` after it was read, in order; ends when `from` ends. */
async function delayed(from: Deno.Conn, to: Deno.Conn, delayMs: number): Promise<void> {
  let writes = Promise.resolve();
  try {
    for (;;) {
      const chunk = new Uint8Array(256 << 10);
      const n = await from.read(chunk);
      if (n === null) break;
      const due = performance.now() + delayMs;
      const bytes = chunk.subarray(0, n);
      writes = writes.then(async () => {
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        for (let at = 0; at < bytes.byteLength;) at += await to.write(bytes.subarray(at));
      });
    }
    await writes;
    await to.closeWrite().catch(() => {});
  } catch {
    // A side closed: the other is closed by the caller.
  }
}
