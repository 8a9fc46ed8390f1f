import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** Open HTTP connections at a moment of a stop: with a request in progress, and without one. */
export interface ConnectionCounts {
  serving: number;
  idle: number;
}

const trackers = new WeakMap<Server, () => ConnectionCounts>();

/** The open connections of a server that closeConnectionsOnStop() watches (null for any other). */
export function connectionCounts(server: Server | undefined): ConnectionCounts | null {
  const counts = server ? trackers.get(server) : undefined;
  return counts ? counts() : null;
}

/**
 * Lets a stop end as soon as the last response is out. Node's server.close()
 * waits for every connection to end, yet closes only those idle between two
 * requests, and stops enforcing headersTimeout: a connection opened with no
 * request on it yet (a browser's preconnect, a slow client) held a stop open
 * until the client hung up (seen as a console test's server still running
 * 30 s after SIGTERM, with one connection open). Here, when Fastify starts
 * closing, every connection without a request in progress is destroyed at
 * once, new ones are refused, and the others end right after their last
 * response has been flushed (their responses also say Connection: close:
 * security-headers.ts).
 */
export function closeConnectionsOnStop(fastify: FastifyInstance, server: Server): void {
  /** Requests in progress on each open connection. */
  const open = new Map<Socket, number>();
  let closing = false;

  server.on('connection', (socket: Socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    open.set(socket, 0);
    socket.once('close', () => open.delete(socket));
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    if (!open.has(socket)) return;
    open.set(socket, (open.get(socket) ?? 0) + 1);
    response.once('close', () => {
      if (!open.has(socket)) return;
      const left = Math.max(0, (open.get(socket) ?? 1) - 1);
      open.set(socket, left);
      // Flushed, then gone (end() sends what is buffered first).
      if (closing && left === 0) socket.end(() => socket.destroy());
    });
  });
  fastify.addHook('preClose', (done) => {
    closing = true;
    for (const [socket, requests] of open) if (requests === 0) socket.destroy();
    done();
  });
  trackers.set(server, () => {
    let serving = 0;
    for (const requests of open.values()) if (requests > 0) serving++;
    return { serving, idle: open.size - serving };
  });
}
