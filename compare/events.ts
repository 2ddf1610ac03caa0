// A pure, seeded generator of realistic PostHog events: the same seed, count and reference date give the
// same events, in the same order, on every machine. No I/O, no clock, no Math.random.
//
// What it models (each choice skewed the way product analytics data is):
// - teams of very different sizes (the largest about 45% of all events);
// - event names with a Zipf-like distribution ($pageview, $autocapture, $pageleave, ... down to $exception);
// - distinct_ids per team with skewed activity (a few power users, a long tail), each user with one
//   platform (browser, OS, device) for life, anonymous ids or emails;
// - JSON properties as PostHog's libraries send them ($browser, $os, $current_url, $pathname, plan, ...);
//   server-side events (posthog-node) carry no browser properties;
// - timestamps (whole seconds, UTC) over the WINDOW_DAYS days before the reference date, busier on
//   weekdays, in the afternoon (UTC) and towards the reference date;
// - a random (version 4) uuid per event.

/** Bump when the generated events change: a load recorded with another version is not reused. */
export const GENERATOR_VERSION = 1;
/** Events fall in [reference - WINDOW_DAYS days, reference). */
export const WINDOW_DAYS = 90;
export const DAY_SECONDS = 86_400;

export interface CompareEvent {
  readonly uuid: string;
  readonly event: string;
  /** A JSON object, as text. */
  readonly properties: string;
  /** Unix seconds (UTC). */
  readonly timestamp: number;
  readonly teamId: number;
  readonly distinctId: string;
  /** PostHog's element chain for autocaptured clicks, else "". */
  readonly elementsChain: string;
  /** Ingestion time, unix seconds: the timestamp plus 0-2 s. */
  readonly createdAt: number;
  /** Position in the stream, from 0. */
  readonly offset: number;
}

export interface EventOptions {
  /** An integer from 0 to 2^32 - 1. */
  readonly seed: number;
  /** How many events the stream holds; it also sizes each team's user pool. */
  readonly count: number;
  /** A UTC midnight: events fall in the WINDOW_DAYS days before it. */
  readonly reference: Date;
}

/** Team ids and their share of the events. */
export const TEAMS: readonly { readonly id: number; readonly weight: number; readonly domain: string }[] = [
  { id: 1, weight: 0.45, domain: "acme.io" },
  { id: 2, weight: 0.22, domain: "globex.com" },
  { id: 3, weight: 0.14, domain: "initech.dev" },
  { id: 4, weight: 0.09, domain: "umbrella.app" },
  { id: 5, weight: 0.06, domain: "hooli.xyz" },
  { id: 6, weight: 0.04, domain: "stark.industries" },
];

/** Event names by rank; their weights fall as 1 / rank^ZIPF_EXPONENT. */
export const EVENT_NAMES = [
  "$pageview", "$autocapture", "$pageleave", "$identify", "$feature_flag_called", "signup",
  "purchase", "$rageclick", "invite_sent", "$groupidentify", "subscription_renewed", "$exception",
] as const;
export const ZIPF_EXPONENT = 1.1;
/** Events the backend sends (posthog-node): no browser, OS or URL properties. */
const SERVER_SIDE = new Set(["purchase", "subscription_renewed"]);
/** Events per user over the window, on average: sizes each team's user pool. */
export const EVENTS_PER_USER = 30;

const PLATFORMS = [
  { weight: 0.38, os: "Windows", device: "Desktop", widths: [1920, 1536, 1366, 2560], browsers: [["Chrome", 0.7], ["Microsoft Edge", 0.18], ["Firefox", 0.09], ["Opera", 0.03]] },
  { weight: 0.22, os: "Mac OS X", device: "Desktop", widths: [1440, 1512, 1728, 2560], browsers: [["Chrome", 0.55], ["Safari", 0.38], ["Firefox", 0.07]] },
  { weight: 0.04, os: "Linux", device: "Desktop", widths: [1920, 2560], browsers: [["Chrome", 0.6], ["Firefox", 0.4]] },
  { weight: 0.2, os: "iOS", device: "Mobile", widths: [390, 393, 430, 375], browsers: [["Mobile Safari", 0.85], ["Chrome iOS", 0.15]] },
  { weight: 0.16, os: "Android", device: "Mobile", widths: [412, 360, 384], browsers: [["Chrome", 0.75], ["Samsung Internet", 0.2], ["Firefox", 0.05]] },
] as const;

const PATHS = [
  "/", "/pricing", "/docs", "/dashboard", "/blog", "/login", "/signup", "/insights", "/settings", "/docs/getting-started",
  "/features", "/search", "/blog/clickhouse-vs-postgres", "/changelog", "/docs/api", "/billing", "/integrations", "/about", "/careers", "/project/1/events",
];
const TITLES: Record<string, string> = { "/": "Home", "/pricing": "Pricing – Plans & billing", "/settings": "Préférences · Café ☕", "/blog/clickhouse-vs-postgres": 'Why we moved to "ClickHouse"' };
const REFERRERS = [["$direct", 0.45], ["www.google.com", 0.3], ["news.ycombinator.com", 0.08], ["github.com", 0.07], ["t.co", 0.05], ["duckduckgo.com", 0.05]] as const;
const SEARCHES = ["clickhouse", "pricing plans", 'say "hello"', "back\\slash", "tab\tand\nnewline", "naïve café"];
const PLANS = [["free", 0.7], ["startup", 0.22], ["enterprise", 0.08]] as const;
const FLAGS = ["new-onboarding", "billing-v2", "dark-mode", "session-replay"];
const CHAINS = [
  'button.btn.btn-primary:attr__class="btn btn-primary"nth-child="1"nth-of-type="1"text="Sign up"',
  'a.nav-link:attr__href="/pricing"href="/pricing"nth-child="2"nth-of-type="1"text="Pricing"',
  'span:nth-child="1"nth-of-type="1"text="Save"',
  'input.search:attr__type="search"nth-child="1"nth-of-type="1"',
  'button:attr__aria-label="Close"nth-child="3"nth-of-type="2"',
];
const FIRST_NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"];
const HOURLY = [0.35, 0.28, 0.22, 0.2, 0.2, 0.25, 0.35, 0.5, 0.7, 0.85, 0.95, 1, 1, 1, 1, 0.98, 0.95, 0.9, 0.8, 0.7, 0.62, 0.55, 0.48, 0.4];

/** sfc32 seeded through splitmix32: fast, 128 bits of state, the same numbers on every platform. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be an integer from 0 to 4294967295, got ${seed}`);
    let s = seed >>> 0;
    const split = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split();
    this.b = split();
    this.c = split();
    this.d = split();
    for (let i = 0; i < 15; i++) this.u32();
  }
  /** 32 random bits, as an unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** A number in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }
  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** A 32-bit hash of small integers (murmur3's finaliser over a combination): stable per user. */
export function hash32(a: number, b: number, c = 0): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul((b + 0x7f4a7c15) | 0, 0xc2b2ae35) ^ Math.imul((c + 0x165667b1) | 0, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Cumulative weights, normalised to end at 1. */
export function cumulative(weights: readonly number[]): number[] {
  const total = weights.reduce((s, w) => s + w, 0);
  let run = 0;
  return weights.map((w) => (run += w / total));
}

/** The index whose cumulative weight first exceeds u (u in [0, 1)). */
export function pick(cdf: readonly number[], u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (u < cdf[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const hex32 = (x: number) => HEX[x >>> 24]! + HEX[(x >>> 16) & 255]! + HEX[(x >>> 8) & 255]! + HEX[x & 255]!;

/** A version 4 uuid from four 32-bit words. */
export function uuidFrom(w0: number, w1: number, w2: number, w3: number): string {
  const a = hex32(w0);
  const b = hex32(((w1 & 0xffff0fff) | 0x00004000) >>> 0);
  const c = hex32(((w2 & 0x3fffffff) | 0x80000000) >>> 0);
  const d = hex32(w3);
  return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`;
}

/** Whether a date is a UTC midnight (the reference must be one: queries cut the window at whole days). */
export const isUtcMidnight = (d: Date) => !Number.isNaN(d.getTime()) && d.getTime() % (DAY_SECONDS * 1000) === 0;

/** Each team's user pool: enough users for about EVENTS_PER_USER events each. */
export const userPoolSize = (count: number, teamWeight: number) => Math.max(10, Math.round((count * teamWeight) / EVENTS_PER_USER));

interface User {
  readonly distinctId: string;
  readonly os: string;
  readonly device: string;
  readonly browser: string;
  readonly browserVersion: number;
  readonly width: number;
  /** Its browser properties as JSON members, ready to splice into the properties text. */
  readonly json: string;
}

/** The user of rank `rank` in a team: a pure function of both (the same person in every stream). */
export function userOf(teamId: number, rank: number): User {
  const h = hash32(teamId, rank, 1);
  const id = h % 10 < 3
    ? `${FIRST_NAMES[hash32(teamId, rank, 2) % FIRST_NAMES.length]}.${rank}@${TEAMS.find((t) => t.id === teamId)?.domain ?? "example.com"}`
    : uuidFrom(hash32(teamId, rank, 3), hash32(teamId, rank, 4), hash32(teamId, rank, 5), hash32(teamId, rank, 6));
  const platform = PLATFORMS[pick(PLATFORM_CDF, hash32(teamId, rank, 7) / 4294967296)]!;
  const cdf = BROWSER_CDFS.get(platform)!;
  const browser = platform.browsers[pick(cdf, hash32(teamId, rank, 8) / 4294967296)]![0];
  const browserVersion = 100 + (hash32(teamId, rank, 9) % 30);
  const width = platform.widths[hash32(teamId, rank, 10) % platform.widths.length]!;
  const json = `"$os":${JSON.stringify(platform.os)},"$browser":${JSON.stringify(browser)},"$device_type":"${platform.device}","$browser_version":${browserVersion},"$screen_width":${width},"$lib":"web","$lib_version":"1.130.2"`;
  return { distinctId: id, os: platform.os, device: platform.device, browser, browserVersion, width, json };
}

const PLATFORM_CDF = cumulative(PLATFORMS.map((p) => p.weight));
const BROWSER_CDFS = new Map(PLATFORMS.map((p) => [p, cumulative(p.browsers.map((b) => b[1]))]));
const TEAM_CDF = cumulative(TEAMS.map((t) => t.weight));
export const EVENT_CDF = cumulative(EVENT_NAMES.map((_, i) => 1 / (i + 1) ** ZIPF_EXPONENT));
const PATH_CDF = cumulative(PATHS.map((_, i) => 1 / (i + 1)));
const REFERRER_CDF = cumulative(REFERRERS.map((r) => r[1]));
const PLAN_CDF = cumulative(PLANS.map((p) => p[1]));
const HOUR_CDF = cumulative(HOURLY);
const SEARCH_PATH = "/search";
/** Per team and path: the page's JSON members ($host, $pathname and, but for search, $current_url). */
const PAGE_JSON = TEAMS.map((team) => PATHS.map((path) => {
  const base = `"$host":"app.${team.domain}","$pathname":${JSON.stringify(path)}`;
  return path === SEARCH_PATH ? base : `${base},"$current_url":${JSON.stringify(`https://app.${team.domain}${path}`)}`;
}));
/** Activity skew: a user's rank is floor(pool * u^USER_SKEW), so low ranks are the power users. */
export const USER_SKEW = 2.5;

/** Day weights over the window: growth towards the reference, quieter weekends. */
export function dayWeights(reference: Date): number[] {
  const first = reference.getTime() / 1000 - WINDOW_DAYS * DAY_SECONDS;
  return Array.from({ length: WINDOW_DAYS }, (_, d) => {
    const weekday = new Date((first + d * DAY_SECONDS) * 1000).getUTCDay();
    return (0.7 + (0.6 * d) / (WINDOW_DAYS - 1)) * (weekday === 0 || weekday === 6 ? 0.55 : 1);
  });
}

export class EventGenerator {
  private readonly random: Random;
  private readonly first: number;
  private readonly dayCdf: number[];
  private readonly pools: number[];
  private readonly users: Map<number, User>[];
  private produced = 0;

  constructor(readonly options: EventOptions) {
    const { count, reference } = options;
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
    if (!isUtcMidnight(reference)) throw new RangeError(`the reference must be a UTC midnight, got ${Number.isNaN(reference.getTime?.()) ? "an invalid date" : reference.toISOString()}`);
    this.random = new Random(options.seed);
    this.first = reference.getTime() / 1000 - WINDOW_DAYS * DAY_SECONDS;
    this.dayCdf = cumulative(dayWeights(reference));
    this.pools = TEAMS.map((t) => userPoolSize(count, t.weight));
    this.users = TEAMS.map(() => new Map());
  }

  get remaining(): number {
    return this.options.count - this.produced;
  }

  /** The next event, or undefined once `count` were produced. */
  next(): CompareEvent | undefined {
    if (this.produced >= this.options.count) return undefined;
    const r = this.random;
    const offset = this.produced++;
    const t = pick(TEAM_CDF, r.next());
    const team = TEAMS[t]!;
    const rank = Math.floor(this.pools[t]! * r.next() ** USER_SKEW);
    let user = this.users[t]!.get(rank);
    if (!user) this.users[t]!.set(rank, (user = userOf(team.id, rank)));
    const event = EVENT_NAMES[pick(EVENT_CDF, r.next())]!;
    const day = pick(this.dayCdf, r.next());
    const hour = pick(HOUR_CDF, r.next());
    const timestamp = this.first + day * DAY_SECONDS + hour * 3600 + r.below(3600);
    const uuid = uuidFrom(r.u32(), r.u32(), r.u32(), r.u32());
    const pathIndex = pick(PATH_CDF, r.next());
    const path = PATHS[pathIndex]!;

    // JSON text built from pre-quoted pieces (JSON.stringify of an object per event is 5x slower).
    let props: string;
    let elementsChain = "";
    if (SERVER_SIDE.has(event)) {
      props = '"$lib":"posthog-node","$lib_version":"4.2.1"';
    } else {
      const page = path === SEARCH_PATH
        ? `${PAGE_JSON[t]![pathIndex]},"$current_url":${JSON.stringify(`https://app.${team.domain}/search?q=${encodeURIComponent(SEARCHES[r.below(SEARCHES.length)]!)}`)}`
        : PAGE_JSON[t]![pathIndex];
      const session = uuidFrom(hash32(team.id, rank, 11), hash32(day, rank, 12), hash32(team.id, day, 13), hash32(rank, day, 14));
      props = `${user.json},${page},"$session_id":"${session}"`;
    }
    switch (event) {
      case "$pageview":
        props += `,"$referring_domain":${JSON.stringify(REFERRERS[pick(REFERRER_CDF, r.next())]![0])}`;
        if (TITLES[path]) props += `,"title":${JSON.stringify(TITLES[path])}`;
        break;
      case "$autocapture":
      case "$rageclick":
        props += `,"$event_type":"${event === "$rageclick" ? "click" : (["click", "click", "click", "submit", "change"] as const)[r.below(5)]}"`;
        elementsChain = CHAINS[r.below(CHAINS.length)]!;
        break;
      case "signup":
        props += `,"plan":"${PLANS[pick(PLAN_CDF, r.next())]![0]}"`;
        break;
      case "purchase":
      case "subscription_renewed": {
        const plan = PLANS[pick(PLAN_CDF, r.next())]![0];
        const amount = plan === "enterprise" ? 1200 + r.below(800) : plan === "startup" ? 49 + r.below(200) : Math.round(r.next() * 2000) / 100;
        props += `,"plan":"${plan}","amount":${amount},"currency":"${r.next() < 0.8 ? "USD" : "EUR"}"`;
        break;
      }
      case "$feature_flag_called":
        props += `,"$feature_flag":"${FLAGS[r.below(FLAGS.length)]}","$feature_flag_response":${r.next() < 0.5}`;
        break;
      case "invite_sent":
        props += `,"invitee_count":${1 + r.below(5)}`;
        break;
      case "$groupidentify":
        props += `,"$group_type":"organization","$group_key":"org-${team.id}-${rank % 97}"`;
        break;
      case "$exception":
        props += `,"$exception_message":${JSON.stringify("TypeError: Cannot read properties of undefined (reading 'id')")},"$exception_stack":${JSON.stringify("at render (app.js:10:5)\n\tat commit (react-dom.js:3:1)")}`;
        break;
    }
    return {
      uuid, event, properties: `{${props}}`, timestamp, teamId: team.id, distinctId: user.distinctId,
      elementsChain, createdAt: timestamp + r.below(3), offset,
    };
  }

  /** Up to `size` next events (an empty array once the stream is done). */
  batch(size: number): CompareEvent[] {
    const out: CompareEvent[] = [];
    while (out.length < size) {
      const e = this.next();
      if (!e) break;
      out.push(e);
    }
    return out;
  }
}

/** Every event of the stream, in order. */
export function* generateEvents(options: EventOptions): Generator<CompareEvent> {
  const g = new EventGenerator(options);
  for (let e = g.next(); e; e = g.next()) yield e;
}
