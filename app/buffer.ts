// The event buffer: requests add their rows (already serialized) and wait; rows leave in batches, on size
// (APP_BATCH_MAX_EVENTS) or on time (APP_FLUSH_INTERVAL_MS after the batch's first row), and a request is
// answered only once the batch holding its rows is written. When the interval ends while every insert slot
// is busy, the batch keeps growing until a slot frees (it could not leave earlier anyway): under load,
// fewer and larger inserts, which is what ClickHouse wants. A batch's body is built once, before its
// first attempt, so a retried insert is byte-identical and ClickHouse's replicated block deduplication
// drops whatever an attempt that failed late had written. A request's rows never straddle two batches.

export class Overloaded extends Error {
  constructor(readonly limit: number) {
    super(`the app is holding ${limit} events waiting to be written; retry shortly`);
    this.name = "Overloaded";
  }
}

export class WriteFailed extends Error {
  constructor(readonly attempts: number, override readonly cause: unknown) {
    super(`events not stored: the insert failed ${attempts} time(s) (${cause instanceof Error ? cause.message : String(cause)})`);
    this.name = "WriteFailed";
  }
}

export class Closed extends Error {
  constructor() {
    super("the app is shutting down; retry against another instance");
    this.name = "Closed";
  }
}

export interface BufferOptions {
  /** Writes one batch (JSONEachRow body of `rows` rows); rejects on failure. */
  readonly write: (body: Buffer, rows: number, attempt: number) => Promise<void>;
  readonly flushIntervalMs: number;
  readonly batchMaxEvents: number;
  readonly bufferMaxEvents: number;
  readonly concurrency: number;
  readonly attempts: number;
  /** Wait before attempt n+1 (n from 1); default 100 ms doubling, at most 2 s. */
  readonly backoffMs?: (attempt: number) => number;
  readonly onBatch?: (info: { rows: number; bytes: number; attempts: number; ms: number; error?: unknown }) => void;
}

interface Waiter {
  resolve(): void;
  reject(e: unknown): void;
}

interface Batch {
  lines: string[];
  rows: number;
  waiters: Waiter[];
}

export class EventBuffer {
  private current: Batch = newBatch();
  private readonly ready: Batch[] = [];
  private inFlight = 0;
  /** Rows accepted and not yet answered (buffered, queued or being written). */
  private held = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The current batch's interval has ended; it leaves as soon as an insert slot is free. */
  private due = false;
  private closing = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly o: BufferOptions) {}

  /** Rows waiting for their batch, and batches being written. */
  get pending(): { rows: number; inFlight: number } {
    return { rows: this.held, inFlight: this.inFlight };
  }

  /** Add one request's rows; resolves once they are written, rejects with Overloaded, WriteFailed or Closed. */
  add(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return Promise.resolve();
    if (this.closed) return Promise.reject(new Closed());
    if (this.held + lines.length > this.o.bufferMaxEvents && this.held > 0) return Promise.reject(new Overloaded(this.o.bufferMaxEvents));
    if (this.current.rows > 0 && this.current.rows + lines.length > this.o.batchMaxEvents) this.seal();
    return new Promise<void>((resolve, reject) => {
      const b = this.current;
      for (const l of lines) b.lines.push(l);
      b.rows += lines.length;
      b.waiters.push({ resolve, reject });
      this.held += lines.length;
      if (b.rows >= this.o.batchMaxEvents || this.closing) this.seal();
      else if (!this.timer && !this.due) this.timer = setTimeout(() => this.onInterval(), this.o.flushIntervalMs);
    });
  }

  /** Write whatever is buffered now, without waiting for the interval. */
  flush(): void {
    this.seal();
  }

  /**
   * Stop waiting for intervals: from now on every add is written at once. Resolves when nothing is held
   * (every accepted request answered).
   */
  drain(): Promise<void> {
    this.closing = true;
    this.seal();
    if (this.held === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** After drain: refuse every add. */
  close(): void {
    this.closed = true;
  }

  private onInterval(): void {
    this.timer = undefined;
    if (this.inFlight < this.o.concurrency) this.seal();
    else this.due = true;
  }

  private seal(): void {
    this.due = false;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.current.rows === 0) return;
    this.ready.push(this.current);
    this.current = newBatch();
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.o.concurrency && this.ready.length > 0) {
      const b = this.ready.shift()!;
      this.inFlight++;
      void this.write(b).finally(() => {
        this.inFlight--;
        this.held -= b.rows;
        if (this.due && this.ready.length === 0) this.seal(); // also pumps
        this.pump();
        if (this.held === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async write(b: Batch): Promise<void> {
    const body = Buffer.from(b.lines.join(""), "utf8"); // once: every attempt sends these bytes
    b.lines = [];
    const started = Date.now();
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.o.attempts; attempt++) {
      try {
        await this.o.write(body, b.rows, attempt);
        this.o.onBatch?.({ rows: b.rows, bytes: body.length, attempts: attempt, ms: Date.now() - started });
        for (const w of b.waiters) w.resolve();
        return;
      } catch (e) {
        lastError = e;
        if (attempt < this.o.attempts) await sleep((this.o.backoffMs ?? defaultBackoff)(attempt));
      }
    }
    this.o.onBatch?.({ rows: b.rows, bytes: body.length, attempts: this.o.attempts, ms: Date.now() - started, error: lastError });
    const err = new WriteFailed(this.o.attempts, lastError);
    for (const w of b.waiters) w.reject(err);
  }
}

const newBatch = (): Batch => ({ lines: [], rows: 0, waiters: [] });
const defaultBackoff = (attempt: number) => Math.min(2000, 100 * 2 ** (attempt - 1));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
