// Load progress: one line rewritten in place on a terminal, a line every few seconds otherwise (a log, CI).

export interface Progress {
  /** `n` more rows are loaded. */
  add(n: number): void;
  /** The final line, with the rate over the whole load. */
  finish(): void;
}

export interface ProgressStream {
  write(s: string): unknown;
  readonly isTTY?: boolean;
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");

/** `clickhouse: 1,200,000 / 10,000,000 rows (12%), 412,000 rows/s`. */
export function formatProgress(label: string, done: number, total: number, elapsedMs: number): string {
  const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  return `${label}: ${int(done)} / ${int(total)} rows (${pct}%), ${int(rate)} rows/s`;
}

export function progress(label: string, total: number, out: ProgressStream, opts: { intervalMs?: number; now?: () => number } = {}): Progress {
  const now = opts.now ?? (() => performance.now());
  const tty = Boolean(out.isTTY);
  const interval = opts.intervalMs ?? (tty ? 200 : 5000);
  const started = now();
  let last = started;
  let done = 0;
  let finished = false;
  const line = () => formatProgress(label, done, total, now() - started);
  return {
    add(n) {
      done += n;
      const t = now();
      if (finished || t - last < interval) return;
      last = t;
      out.write(tty ? `\r${line()}\x1b[K` : `${line()}\n`);
    },
    finish() {
      if (finished) return;
      finished = true;
      out.write(tty ? `\r${line()}\x1b[K\n` : `${line()}\n`);
    },
  };
}
