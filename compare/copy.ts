// COPY ... FROM STDIN over pg's own connection, without pg-copy-streams: pg's client runs any object with a
// `submit(connection)` method as a query (its Submittable interface) and hands it the protocol messages;
// this one answers CopyInResponse by sending CopyData messages as the caller writes, then CopyDone.
import type pg from "pg";

/** The slice of pg's Connection this uses (internal to pg, stable since pg 7: pg-copy-streams uses the same). */
interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  readonly stream: NodeJS.WritableStream & { writableNeedDrain?: boolean };
}

const CHUNK = 1 << 20;

export class CopyIn implements pg.Submittable {
  private connection: CopyConnection | undefined;
  private failure: Error | undefined;
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;
  private resolveDone!: (rows: number) => void;
  private rejectDone!: (e: Error) => void;
  private rows = 0;
  /** Settles once the server is ready for rows (or refused the COPY). */
  readonly ready: Promise<void>;
  /** Settles once the server has committed the COPY (or failed it): its row count. */
  readonly done: Promise<number>;

  constructor(readonly text: string) {
    this.ready = new Promise((resolve, reject) => ((this.resolveReady = resolve), (this.rejectReady = reject)));
    this.done = new Promise((resolve, reject) => ((this.resolveDone = resolve), (this.rejectDone = reject)));
    // Whoever awaits one of them sees the error; the other must not be an unhandled rejection.
    this.ready.catch(() => undefined);
    this.done.catch(() => undefined);
  }

  // pg's Submittable interface: called when the query reaches the front of the client's queue.
  submit(connection: unknown): void {
    this.connection = connection as CopyConnection;
    this.connection.query(this.text);
  }
  handleCopyInResponse(): void {
    this.resolveReady();
  }
  handleCommandComplete(msg: { text?: string }): void {
    const m = /^COPY (\d+)/.exec(msg.text ?? "");
    this.rows = m ? Number(m[1]) : 0;
  }
  handleReadyForQuery(): void {
    if (this.failure) this.rejectDone(this.failure);
    else this.resolveDone(this.rows);
  }
  handleError(err: Error): void {
    this.failure = err;
    this.rejectReady(err);
    this.rejectDone(err);
  }
  // Messages a COPY FROM never gets; pg calls them on any query, so they must exist.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  /** Send rows (COPY text), waiting while the socket's buffer is full. */
  async write(data: string | Buffer): Promise<void> {
    await this.ready;
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    const con = this.connection!;
    for (let at = 0; at < buf.length; at += CHUNK) {
      if (this.failure) throw this.failure;
      con.sendCopyFromChunk(buf.subarray(at, at + CHUNK));
      // A failed COPY or a dead socket settles `done`: never wait for a drain that will not come.
      if (con.stream.writableNeedDrain) await Promise.race([new Promise((resolve) => con.stream.once("drain", resolve)), this.done.catch(() => undefined)]);
    }
    if (this.failure) throw this.failure;
  }

  /** End the data; resolves with the rows the server copied. */
  async end(): Promise<number> {
    await this.ready;
    if (!this.failure) this.connection!.endCopyFrom();
    return this.done;
  }
}

/** Start `COPY ... FROM STDIN` on a connected client. */
export function copyIn(client: pg.Client, text: string): CopyIn {
  return client.query(new CopyIn(text));
}
