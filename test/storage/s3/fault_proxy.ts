import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** What the proxy does to one request. */
export type Fault =
  /** Answer this status with an S3 error body carrying `code` (e.g. 503 SlowDown), without asking the server. */
  | { status: number; code: string }
  /** Forward, then cut the connection after this many bytes of the answer's body. */
  | { dropAfter: number }
  /** Forward, then send nothing more after this many bytes of the answer's body, the connection left open. */
  | { stallAfter: number }
  /** Forward the request but never answer (a stuck upload), until the proxy closes. */
  | { hang: true };

export interface SeenRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  range?: string;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: an S3 endpoint that forwards to the real one. */
  endpoint: string;
  requests: SeenRequest[];
  /** Decides per request; undefined forwards it untouched. Tests replace it at will. */
  decide: (req: SeenRequest, index: number) => Fault | undefined;
  /** Faults injected so far. */
  injected: number;
  close(): Promise<void>;
}

/**
 * A small HTTP proxy on 127.0.0.1 in front of an S3 server that injects the failures object stores show in
 * practice: throttling (503 SlowDown), server errors, and connections dropped in the middle of a body. It
 * forwards the client's headers unchanged (Host included), so the server checks the client's signatures.
 */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    endpoint: "",
    requests: [],
    decide: () => undefined,
    injected: 0,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const seen: SeenRequest = { method: req.method ?? "", url: req.url ?? "/", range: req.headers.range };
    const fault = proxy.decide(seen, proxy.requests.length);
    proxy.requests.push(seen);
    if (fault && "status" in fault) {
      proxy.injected++;
      req.resume();
      const body =
        `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${fault.code}</Code><Message>injected</Message></Error>`;
      res.writeHead(fault.status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) });
      res.end(req.method === "HEAD" ? undefined : body);
      return;
    }
    if (fault && "hang" in fault) proxy.injected++;
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        if (fault && "hang" in fault) return void answer.resume();
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (!fault) return void answer.pipe(res);
        proxy.injected++;
        const limit = "dropAfter" in fault ? fault.dropAfter : fault.stallAfter;
        let sent = 0;
        answer.on("data", (chunk: Buffer) => {
          if (sent >= limit) return;
          const keep = Math.min(chunk.byteLength, limit - sent);
          res.write(chunk.subarray(0, keep));
          sent += keep;
          if (sent >= limit && "dropAfter" in fault) {
            answer.destroy();
            // Flush what was written, then cut the connection as a broken network would.
            res.socket?.end(() => res.socket?.destroy());
            setTimeout(() => res.socket?.destroy(), 50);
          }
        });
        answer.on("end", () => sent < limit && res.end());
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  server.on("connection", (s) => (sockets.add(s), s.on("close", () => sockets.delete(s))));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
