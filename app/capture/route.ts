// PostHog's capture endpoints: the paths PostHog's capture service serves for analytics events (with and
// without the trailing slash, GET and POST, CORS preflight), answered 200 {"status": 1} only once every event
// of the request is written to ClickHouse.
import { randomUUID } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Closed, Overloaded, WriteFailed, type EventBuffer } from "../buffer.ts";
import { HttpError } from "../errors.ts";
import type { Teams } from "../teams.ts";
import { decodePayload } from "./decode.ts";
import { rowLine, toRow } from "./event.ts";
import { parsePayload, validateEvents } from "./payload.ts";

/** posthog-node 5.x posts to /batch/; posthog-js to /e/ (older: /i/v0/e/ and /capture/, /track/, /engage/). */
export const CAPTURE_PATHS = ["/batch", "/capture", "/e", "/i/v0/e", "/track", "/engage"] as const;

export interface CaptureDeps {
  readonly teams: Teams;
  readonly buffer: EventBuffer;
  readonly bodyLimit: number;
}

export function registerCapture(app: FastifyInstance, deps: CaptureDeps): void {
  const nextOffset = offsetSequence();
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const now = new Date();
    const query = (req.query ?? {}) as Record<string, unknown>;
    const json = decodePayload(
      { body: Buffer.isBuffer(req.body) ? req.body : undefined, contentType: req.headers["content-type"], contentEncoding: header(req.headers["content-encoding"]), query },
      deps.bodyLimit,
    );
    const payload = parsePayload(json, query);
    if (!payload.token) {
      throw new HttpError(401, "missing_api_key", "no project API key: send it as api_key in the body (or token in the event's properties)");
    }
    const team = await deps.teams.byToken(payload.token).catch((e: unknown) => {
      req.log.warn({ err: (e as Error).message }, "API key lookup failed");
      throw new HttpError(503, "unavailable", "cannot check the project API key now (Postgres unreachable); retry shortly");
    });
    if (!team) throw new HttpError(401, "invalid_api_key", "project API key not recognised; nothing was written");
    const events = validateEvents(payload);
    const lines = events.map((e) => rowLine(toRow(e, { teamId: team.id, now, sentAt: payload.sentAt, newUuid: randomUUID, nextOffset })));
    (req as { events?: number }).events = lines.length;
    try {
      await deps.buffer.add(lines);
    } catch (e) {
      if (e instanceof Overloaded || e instanceof Closed) {
        reply.header("retry-after", "1");
        throw new HttpError(503, "unavailable", e.message);
      }
      if (e instanceof WriteFailed) {
        throw new HttpError(503, "write_failed", `events not stored: the insert failed ${e.attempts} time(s); retry (the app's log has the cause)`);
      }
      throw e;
    }
    return reply.send({ status: 1 });
  };

  const preflight = async (req: FastifyRequest, reply: FastifyReply) => {
    const asked = header(req.headers["access-control-request-headers"]);
    reply.header("access-control-allow-methods", "GET, POST, OPTIONS");
    if (asked) reply.header("access-control-allow-headers", asked);
    reply.header("access-control-max-age", "86400");
    return reply.code(204).send();
  };

  for (const base of CAPTURE_PATHS) {
    for (const url of [base, `${base}/`]) {
      app.route({ method: ["GET", "POST"], url, handler, onRequest: cors });
      app.route({ method: "OPTIONS", url, handler: preflight, onRequest: cors });
    }
  }
}

/** Browsers send events from any site: allow the requesting origin, with credentials (as PostHog does). */
async function cors(req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const origin = header(req.headers.origin);
  reply.header("access-control-allow-origin", origin ?? "*");
  if (origin) {
    reply.header("access-control-allow-credentials", "true");
    reply.header("vary", "Origin");
  }
}

/**
 * `_offset` values: the receive time in microseconds, strictly increasing within the process (PostHog kept
 * the Kafka offset there; this app has no log, and the column only orders rows).
 */
export function offsetSequence(now: () => number = Date.now): () => number {
  let last = 0;
  return () => {
    const t = now() * 1000;
    last = t > last ? t : last + 1;
    return last;
  };
}

const header = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
