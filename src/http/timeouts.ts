import type { Server } from 'node:http';

/** A client that trickles its headers (slowloris) is cut off after this (408). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** The whole request, body included (set on the adapter). */
export const REQUEST_TIMEOUT_MS = 30_000;
/**
 * Node enforces both timeouts only when it checks its connections, every
 * 30 s by default, so a 10 s bound fired at up to 40 s (issue 11, item 11).
 * Checked every half second, the bounds hold within a second.
 */
export const CONNECTIONS_CHECK_INTERVAL_MS = 500;

/**
 * Sets the slow-client bounds on the HTTP server. Before listen(): Node
 * starts its connection checker, at connectionsCheckingInterval, when the
 * server starts listening.
 */
export function limitSlowClients(server: Server, headersTimeoutMs = HEADERS_TIMEOUT_MS): void {
  server.headersTimeout = headersTimeoutMs;
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = CONNECTIONS_CHECK_INTERVAL_MS;
}
