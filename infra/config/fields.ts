// Zod field builders. Each carries one rule sentence as its error ("must be an integer from 1 to 256"),
// so that every refusal reads `<field path>: <rule>, got <value>` (the value is added by errors.ts).
import { isIP } from "node:net";
import { z } from "zod";

/** An integer within [min, max]; one message for wrong type, fraction and range. */
export function int(min: number, max: number) {
  const error = `must be an integer from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
}

/** One of a few numbers, e.g. an ensemble size. */
export function oneOfNumbers<const T extends readonly [number, ...number[]]>(values: T, why: string) {
  const list = values.length === 1 ? `${values[0]}` : `${values.slice(0, -1).join(", ")} or ${values.at(-1)}`;
  return z.literal(values, { error: `must be ${list} (${why})` });
}

export function oneOfStrings<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.map((v) => JSON.stringify(v)).join(", ")}` });
}

function pattern(re: RegExp, rule: string, maxLength: number) {
  return z
    .string({ error: rule })
    .max(maxLength, { error: `${rule}; at most ${maxLength} characters` })
    .regex(re, { error: rule });
}

/**
 * A lowercase identifier usable both in SQL/XML and (with `_` turned into `-`) in Kubernetes names:
 * a letter, then letters, digits or `_`. No quoting is ever needed.
 */
export const identifier = (maxLength = 63) =>
  pattern(/^[a-z][a-z0-9_]*$/, "must be an identifier: a lowercase letter, then lowercase letters, digits or _", maxLength);

/** A ClickHouse user or database name: letters, digits, `_`, not starting with a digit. */
export const sqlName = (maxLength = 63) =>
  pattern(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a name of letters, digits and _, not starting with a digit", maxLength);

/** RFC 1123 label, as Kubernetes requires for namespaces and most object names. */
export const dnsLabel = () =>
  pattern(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    "must be a DNS-1123 label: lowercase letters, digits and -, starting and ending with a letter or digit",
    63,
  );

/** RFC 1123 subdomain (storage class names). */
export const dnsSubdomain = () =>
  pattern(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    "must be a DNS-1123 subdomain: lowercase letters, digits, - and .",
    253,
  );

/** Kubernetes label key: optional DNS prefix, `/`, then a name of at most 63 characters. */
export const labelKey = () =>
  pattern(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
    "must be a Kubernetes label key: [prefix/]name, the name at most 63 letters, digits, -, _ or .",
    317,
  );

export const labelValue = () =>
  z
    .string({ error: "must be a Kubernetes label value" })
    .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, {
      error: "must be a Kubernetes label value: letters, digits, -, _ or ., starting and ending with a letter or digit",
    })
    .max(63, { error: "must be a Kubernetes label value of at most 63 characters" });

/** A container image reference: [registry[:port]/]path[:tag][@sha256:digest]. */
export const image = () =>
  pattern(
    /^(?:[a-z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/,
    "must be a container image reference such as clickhouse/clickhouse-server:25.8",
    255,
  );

const QUANTITY = /^(\d+(\.\d+)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/;
const UNIT: Record<string, number> = {
  "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/**
 * A Kubernetes resource quantity ("500m", "2", "4Gi"); YAML numbers are accepted and kept as strings.
 * `max` bounds it (a size no machine or volume has is a typo: "4Pi" for "4Gi").
 */
export const quantity = (max?: string) =>
  z
    .union([z.string(), z.number()], { error: 'must be a Kubernetes quantity such as "500m", "2" or "4Gi"' })
    .transform((v) => String(v))
    .refine((v) => QUANTITY.test(v) && quantityValue(v) > 0, {
      error: (iss) => `must be a positive Kubernetes quantity such as "500m", "2" or "4Gi", got ${JSON.stringify(iss.input)}`,
    })
    .refine((v) => max === undefined || quantityValue(v) <= quantityValue(max), {
      error: (iss) => `must be at most ${max}, got ${JSON.stringify(iss.input)}`,
    });

/** Upper bounds of resource quantities: beyond the largest machines and volumes. */
export const MAX_CPU = "1024";
export const MAX_MEMORY = "64Ti";
export const MAX_STORAGE = "1Pi";

/** The numeric value of a quantity that `quantity()` accepted. */
export function quantityValue(q: string): number {
  const m = QUANTITY.exec(q);
  if (!m) return Number.NaN;
  return Number(m[1]) * (UNIT[m[3] ?? ""] ?? Number.NaN);
}

export const port = () => int(1, 65535);

export const envName = () =>
  pattern(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name: letters, digits and _", 128);

/**
 * A value that must not be stored in plain text. In a stack file it is a Pulumi secret
 * (`secure: v1:...`), which this project never decrypts: only the Pulumi engine does, for the
 * Kubernetes program, which then sees a plain string. The loopback target never needs these:
 * it generates its own credentials.
 */
export const secret = () =>
  z.union(
    [
      z.string().min(1, { error: "must not be empty" }),
      z.strictObject({ secure: z.string().min(1, { error: "must not be empty" }) }),
    ],
    { error: "must be a Pulumi secret (secure: ...)" },
  );

export type SecretValue = z.infer<ReturnType<typeof secret>>;

/** `10.0.0.0/8`, `::/0`, `127.0.0.1`: an address node:net parses, and a prefix within its family's width. */
function isIpOrCidr(v: string): boolean {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(v);
  const family = m ? isIP(m[1]!) : 0;
  return family !== 0 && (m![2] === undefined || Number(m![2]) <= (family === 4 ? 32 : 128));
}

export const network = () => z.string().refine(isIpOrCidr, { error: (iss) => `must be an IP address or CIDR, got ${JSON.stringify(iss.input)}` });
