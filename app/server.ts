// The HTTP server: Fastify with its pino logger (one JSON line per entry), every body read raw (capture
// decodes its own), the capture, read and health routes, and errors answered as JSON without stack traces.
import Fastify, { LogController, type FastifyError, type FastifyInstance } from "fastify";
import { registerApi } from "./api.ts";
import type { EventBuffer } from "./buffer.ts";
import { registerCapture } from "./capture/route.ts";
import type { ClickHouse } from "./clickhouse.ts";
import { describeError } from "./clickhouse.ts";
import { HttpError } from "./errors.ts";
import type { Teams } from "./teams.ts";

export interface ServerDeps {
  readonly clickhouse: ClickHouse;
  readonly teams: Teams;
  readonly buffer: EventBuffer;
  readonly database: string;
  readonly bodyLimit: number;
  /** True once shutdown began: /readyz answers 503 so that load balancers stop sending. */
  readonly closing: () => boolean;
}

export function loggerOptions(level: string) {
  return {
    level,
    base: { service: "chstack-app" },
    timestamp: () => `,"time":"${new Date().toISOString()}"`,
    // nothing logs these, but should a request object ever be logged, its secrets are not
    redact: { paths: ["req.headers.authorization", "req.headers.cookie", "req.query.api_key"], censor: "***" },
  };
}

export function buildServer(deps: ServerDeps, logger: ReturnType<typeof loggerOptions> | false): FastifyInstance {
  const app = Fastify({
    logger,
    bodyLimit: deps.bodyLimit,
    logController: new LogController({ disableRequestLogging: true }), // one line per request, from onResponse below
    return503OnClosing: true,
    forceCloseConnections: "idle",
    keepAliveTimeout: 65_000,
    requestIdHeader: "x-request-id",
  });

  // Bodies arrive raw whatever their type: capture reads JSON, gzip, base64 and forms itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  // Shutting down: every answer closes its connection, so that close() is not held by kept-alive sockets.
  app.addHook("onSend", async (_req, reply, payload) => {
    if (deps.closing()) reply.header("connection", "close");
    return payload;
  });

  app.addHook("onResponse", async (req, reply) => {
    const status = reply.statusCode;
    const line = { method: req.method, path: req.url.split("?")[0], status, ms: Math.round(reply.elapsedTime), events: (req as { events?: number }).events };
    if (status >= 500) req.log.warn(line, "request");
    else if (status >= 400) req.log.info(line, "request");
    else req.log.debug(line, "request");
  });

  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    if (err instanceof HttpError) return reply.code(err.status).send(err.body());
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return reply.code(413).send({ error: "payload_too_large", message: `request body exceeds ${deps.bodyLimit} bytes (APP_BODY_LIMIT_BYTES)` });
    }
    const status = err.statusCode ?? 500;
    if (status < 500) return reply.code(status).send({ error: "bad_request", message: err.message });
    req.log.error({ err: describeError(err) }, "unexpected error");
    return reply.code(500).send({ error: "internal", message: "internal error (the app's log has the cause)" });
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: "not_found", message: `no route ${req.method} ${req.url.split("?")[0]}` });
  });

  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_req, reply) => {
    if (deps.closing()) return reply.code(503).send({ status: "shutting down" });
    const [clickhouse, postgres] = await Promise.all([deps.clickhouse.ping(), deps.teams.ping()]);
    const ready = clickhouse.ok && postgres.ok;
    return reply.code(ready ? 200 : 503).send({
      status: ready ? "ready" : "not ready",
      clickhouse: clickhouse.ok ? { ok: true, url: clickhouse.url, version: deps.clickhouse.version, binding: deps.clickhouse.binding } : clickhouse,
      postgres,
      buffer: deps.buffer.pending,
    });
  });

  registerCapture(app, deps);
  registerApi(app, deps);
  return app;
}
