// A capture request's payload to JSON text, the ways PostHog's clients send it (as PostHog's capture
// service reads them): the body, or a `data` field of a urlencoded form body, or a `data` query parameter;
// gzip-compressed (Content-Encoding: gzip, `compression=gzip`/`gzip-js`, or just the gzip magic bytes) and/or
// base64-encoded (`compression=base64`, or a payload that is entirely base64). Pure: no I/O.
import { gunzipSync } from "node:zlib";
import { HttpError } from "../errors.ts";

export interface CaptureInput {
  readonly body: Buffer | undefined;
  readonly contentType: string | undefined;
  readonly contentEncoding: string | undefined;
  readonly query: Readonly<Record<string, unknown>>;
}

type Compression = "gzip" | "base64" | "lz64" | "none";

const FORM = "application/x-www-form-urlencoded";
const utf8 = new TextDecoder("utf-8", { fatal: true });

export function decodePayload(input: CaptureInput, limit: number): string {
  const queryData = firstString(input.query["data"]);
  let bytes: Buffer;
  let formCompression: string | undefined;
  if (queryData) {
    bytes = Buffer.from(queryData, "utf8");
  } else if (input.body && input.body.length > 0) {
    bytes = input.body;
    // a form (`data=...`), unless the body is plainly something else (JSON sent as curl -d sends it)
    if (mediaType(input.contentType) === FORM && /^[A-Za-z_$][A-Za-z0-9_$]*=/.test(bytes.subarray(0, 64).toString("latin1"))) {
      const form = new URLSearchParams(text(bytes));
      const data = form.get("data");
      if (data === null || data === "") throw new HttpError(400, "invalid_payload", "form body has no data field");
      formCompression = form.get("compression") ?? undefined;
      // urlencoded base64 loses its '+' to ' ' when the client did not escape it
      bytes = Buffer.from(/^[A-Za-z0-9+/= ]+$/.test(data) ? data.replace(/ /g, "+") : data, "utf8");
    }
  } else {
    throw new HttpError(400, "invalid_payload", "empty payload: send events in the body");
  }

  const compression = compressionOf(firstString(input.query["compression"]) ?? formCompression, input.contentEncoding);
  if (compression === "lz64") {
    throw new HttpError(415, "unsupported_compression", "lz64 (lz-string) compression is not supported: send gzip (posthog-js: compression gzip-js) or base64");
  }

  if (compression === "gzip" || isGzip(bytes)) bytes = gunzip(bytes, limit);
  let payload = text(bytes);
  if (compression === "base64" || looksLikeBase64(payload)) {
    const decoded = Buffer.from(payload.replace(/\s+/g, ""), "base64");
    payload = text(isGzip(decoded) ? gunzip(decoded, limit) : decoded);
  }
  if (Buffer.byteLength(payload, "utf8") > limit) {
    throw new HttpError(413, "payload_too_large", `decoded payload exceeds ${limit} bytes`);
  }
  return payload;
}

function compressionOf(hint: string | undefined, contentEncoding: string | undefined): Compression {
  switch (hint?.toLowerCase()) {
    case "gzip":
    case "gzip-js":
      return "gzip";
    case "base64":
    case "b64":
      return "base64";
    case "lz64":
    case "lz-string":
      return "lz64";
  }
  const enc = contentEncoding?.trim().toLowerCase();
  if (enc === "gzip" || enc === "x-gzip") return "gzip";
  if (enc && enc !== "identity") throw new HttpError(415, "unsupported_compression", `Content-Encoding ${JSON.stringify(enc)} is not supported (gzip is)`);
  return "none";
}

function gunzip(bytes: Buffer, limit: number): Buffer {
  try {
    return gunzipSync(bytes, { maxOutputLength: limit });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE" || e instanceof RangeError) {
      throw new HttpError(413, "payload_too_large", `decompressed payload exceeds ${limit} bytes`);
    }
    throw new HttpError(400, "invalid_payload", "invalid gzip data");
  }
}

function text(bytes: Buffer): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new HttpError(400, "invalid_payload", "payload is not valid UTF-8");
  }
}

const isGzip = (b: Buffer) => b.length >= 3 && b[0] === 0x1f && b[1] === 0x8b && b[2] === 0x08;

/** Entirely base64 (standard alphabet, padded); JSON never is, since it starts with `{` or `[`. */
export function looksLikeBase64(s: string): boolean {
  const t = s.trim();
  return t.length >= 4 && t.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(t);
}

const mediaType = (ct: string | undefined) => ct?.split(";")[0]?.trim().toLowerCase();

const firstString = (v: unknown): string | undefined => {
  const x = Array.isArray(v) ? v[0] : v;
  return typeof x === "string" && x !== "" ? x : undefined;
};
