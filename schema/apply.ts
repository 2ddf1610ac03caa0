// The applier: the only schema module that changes servers. Plan, refuse if anything is unresolved, run
// the tasks phase by phase (hosts in parallel, each host's tasks in order, a progress line per statement),
// record every statement in the host's ledger, then confirm by introspecting again.
import { randomUUID } from "node:crypto";
import type { Topology } from "../infra/model/topology.ts";
import { introspect, type HostConnection } from "./connection.ts";
import type { Declaration } from "./declare.ts";
import { formatServerError, serverError, type ServerError } from "./errors.ts";
import { LEDGER_DDL, LEDGER_TABLE, record, type LedgerEntry } from "./ledger.ts";
import { plan, type AllowKind, type Observed, type Plan, type Task } from "./plan.ts";

/** Statements a host runs at once, on different tables (CREATEs wait on ZooKeeper, not on CPU). */
const STATEMENTS_IN_FLIGHT = 4;

export interface HostOutcome {
  readonly host: string;
  readonly applied: readonly Task[];
  /** The statement that failed: `error` is one line (`Code 44 ILLEGAL_COLUMN: ...`), `server` its parts. */
  readonly failed?: { readonly task: Task; readonly error: string; readonly server: ServerError };
  /** Tasks not run: after a failure on this host, or because the host was unreachable. */
  readonly undone: readonly Task[];
}

export interface ApplyResult {
  readonly plan: Plan;
  readonly outcomes: readonly HostOutcome[];
  /** The plan after applying: empty when every host converged. */
  readonly after: Plan;
  /**
   * Statements that ran, yet the host still differs the same way: it prints the declared expression in
   * another spelling (`(a * 2) + 1` for `a * 2 + 1`). Declare it as the host prints it.
   */
  readonly respelled: readonly Task[];
  readonly converged: boolean;
}

export class PlanBlockedError extends Error {
  readonly code = "PLAN_BLOCKED";
  constructor(readonly plan: Plan) {
    super(`nothing was applied: ${plan.drift.filter((d) => !d.resolved).length} unresolved difference(s) (see the plan)`);
  }
}

/** Nothing was applied: `requireAllHosts` was set and some host did not answer. */
export class HostsNotReadyError extends Error {
  readonly code = "HOSTS_NOT_READY";
  constructor(readonly unreachable: readonly { host: string; error: string }[]) {
    super(`refusing to run: ${unreachable.map((u) => `${u.host} is not ready (${u.error})`).join("; ")}`);
  }
}

export interface ApplyOptions {
  readonly allow?: ReadonlySet<AllowKind>;
  readonly log?: (line: string) => void;
  /** Called after each statement succeeds (tests use it to kill a server mid-apply). */
  readonly afterStatement?: (task: Task) => Promise<void> | void;
  /** Refuse, applying nothing, unless every host answers (the schema Job: never half a cluster). */
  readonly requireAllHosts?: boolean;
  /** How long to wait for replicas to catch up before calling the apply unconverged. */
  readonly confirmTimeoutMs?: number;
}

/**
 * A replicated ALTER that committed while a replica of its group was inactive: ClickHouse answers UNFINISHED
 * (341) after the change is in the group's log and applied on the live replicas ("Alter will be done
 * asynchronously"). Not a failure: the inactive replica replays the log when it returns.
 */
export function committedForInactive(task: Task, e: ServerError): boolean {
  return task.phase === 3 && task.group !== undefined && e.code === 341 && /replicas are inactive/i.test(e.message);
}

/** Tasks by a key, each group in plan order (Node 20 has no Map.groupBy). */
function groupBy(tasks: readonly Task[], key: (t: Task) => string): Map<string, Task[]> {
  const out = new Map<string, Task[]>();
  for (const t of tasks) out.set(key(t), [...(out.get(key(t)) ?? []), t]);
  return out;
}

/** Introspect every host in parallel, one round trip each; an unreachable host is recorded, not fatal. */
export async function observe(t: Topology, conns: ReadonlyMap<string, HostConnection>): Promise<Map<string, Observed>> {
  const entries = await Promise.all(
    t.hosts.map(async (h): Promise<[string, Observed]> => {
      try {
        return [h.name, { ok: true, state: await introspect(conns.get(h.name)!) }];
      } catch (e) {
        return [h.name, { ok: false, error: formatServerError(serverError(e)) }];
      }
    }),
  );
  return new Map(entries);
}

export async function planFor(decl: Declaration, t: Topology, conns: ReadonlyMap<string, HostConnection>, allow?: ReadonlySet<AllowKind>): Promise<Plan> {
  return plan(decl, t, await observe(t, conns), allow);
}

export async function apply(decl: Declaration, t: Topology, conns: ReadonlyMap<string, HostConnection>, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const log = opts.log ?? (() => undefined);
  const observed = await observe(t, conns);
  const first = plan(decl, t, observed, opts.allow);
  if (opts.requireAllHosts && first.unreachable.length > 0) throw new HostsNotReadyError(first.unreachable);
  if (first.blocked) throw new PlanBlockedError(first);
  const unreachable = new Set(first.unreachable.map((u) => u.host));
  if (first.tasks.length === 0) {
    return { plan: first, after: first, respelled: [], converged: unreachable.size === 0, outcomes: t.hosts.map((h) => ({ host: h.name, applied: [], undone: [] })) };
  }

  // Time-ordered (ms, then random): the ledger orders applies begun in the same second by it.
  const applyId = `${Date.now().toString(36).padStart(9, "0")}-${randomUUID()}`;
  const applied = new Map<string, Task[]>(t.hosts.map((h) => [h.name, []]));
  const failed = new Map<string, NonNullable<HostOutcome["failed"]>>();
  const failure = (task: Task, e: unknown, prefix = "") => {
    const server = serverError(e);
    return { task, error: `${prefix}${formatServerError(server)}`, server };
  };
  const width = Math.max(...t.hosts.map((h) => h.name.length));
  const hostsWithTasks = [...new Set(first.tasks.map((x) => x.host))];
  // The ledger's DDL only where the introspection did not see the ledger already.
  const hasLedger = (host: string) => { const o = observed.get(host); return Boolean(o?.ok && o.state.tables.has(LEDGER_TABLE)); };
  await Promise.all(hostsWithTasks.filter((h) => !hasLedger(h)).map(async (host) => {
    try {
      for (const sql of LEDGER_DDL) await conns.get(host)!.command(sql);
    } catch (e) {
      failed.set(host, failure(first.tasks.find((x) => x.host === host)!, e, "cannot write the ledger: "));
    }
  }));

  // A failed ledger write is reported, never fatal: the servers' own state is what the next plan reads.
  const writeLedger = (host: string, entries: LedgerEntry | LedgerEntry[]) =>
    record(conns.get(host)!, entries).catch((e) => log(`  ${host.padEnd(width)}  ledger: could not record ${Array.isArray(entries) ? entries.length : 1} row(s): ${formatServerError(serverError(e))}`));
  // Each host's ledger hears of the apply before its first statement: were the tool killed now, it would tell.
  await Promise.all(hostsWithTasks.filter((h) => !failed.has(h)).map((host) =>
    writeLedger(host, { applyId, hash: first.declarationHash, result: "begin", planned: first.tasks.filter((x) => x.host === host).length })));

  // Two stages with one barrier between them: every replicated ALTER (phase 3) lands before any host creates
  // a missing replica or syncs (phase 4), so that a new replica matches ZooKeeper. Within a stage each host
  // runs its phases in order without waiting for the others: a host's Distributed tables follow its own
  // local tables, not the slowest host's.
  for (const stage of [[1, 2, 3], [4, 5]] as const) {
    await Promise.all(hostsWithTasks.map(async (host) => {
      const entries: LedgerEntry[] = [];
      for (const phase of stage) {
        const tasks = first.tasks.filter((x) => x.phase === phase && x.host === host);
        if (tasks.length > 0 && !failed.has(host)) await runPhase(host, tasks, entries);
      }
      if (entries.length > 0) await writeLedger(host, entries);
    }));
  }

  /** One host's tasks of one phase: up to STATEMENTS_IN_FLIGHT tables at once, one table's steps in order. */
  async function runPhase(host: string, tasks: readonly Task[], entries: LedgerEntry[]): Promise<void> {
    const conn = conns.get(host)!;
    const done = applied.get(host)!;
    const queue = [...groupBy(tasks, (x) => x.table).values()];
    const worker = async () => {
      for (let steps = queue.shift(); steps && !failed.has(host); steps = queue.shift()) {
        for (const task of steps) {
          if (failed.has(host)) return;
          log(`  ${host.padEnd(width)}  ${task.kind.padEnd(15)} ${task.table}${task.column ? `.${task.column}` : ""}${task.group ? ` (replicates to ${task.group.length} hosts)` : ""}`);
          let note: string | undefined;
          try {
            await conn.command(task.sql, task.settings);
          } catch (e) {
            const f = failure(task, e);
            if (!committedForInactive(task, f.server)) {
              failed.set(host, f);
              log(`  ${host.padEnd(width)}  FAILED: ${f.error}`);
              entries.push({ applyId, hash: first.declarationHash, task, result: "failed", error: f.error });
              return;
            }
            // The ALTER is in ZooKeeper's log and done here; a replica that is down applies it on its return.
            note = f.error;
            log(`  ${host.padEnd(width)}  ${task.table}: applied here; the inactive replica applies it when it returns (${note})`);
          }
          done.push(task);
          entries.push({ applyId, hash: first.declarationHash, task, result: "ok", error: note });
          await opts.afterStatement?.(task);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(STATEMENTS_IN_FLIGHT, queue.length) }, worker));
  }

  for (const host of hostsWithTasks) {
    await writeLedger(host, { applyId, hash: first.declarationHash, result: failed.has(host) ? "failed" : "ok", error: failed.get(host)?.error });
  }

  // Confirm: introspect again; replicas that received a replicated ALTER may need a moment to show it.
  const deadline = Date.now() + (opts.confirmTimeoutMs ?? 30_000);
  let after = await planFor(decl, t, conns, opts.allow);
  while (failed.size === 0 && after.tasks.length > 0 && after.tasks.every((x) => x.kind === "sync-replica") && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    after = await planFor(decl, t, conns, opts.allow);
  }
  const outcomes = t.hosts.map((h) => {
    const done = new Set(applied.get(h.name));
    return { host: h.name, applied: [...done], failed: failed.get(h.name), undone: first.tasks.filter((x) => x.host === h.name && !done.has(x)) };
  });
  // A change still planned on a table this apply just created or altered there: the host spells it its own way.
  const touched = new Set([...applied.values()].flat().flatMap((x) => (x.group ?? [x.host]).map((h) => `${h}|${x.table}`)));
  const respelled = after.tasks.filter((x) => ["modify-column", "modify-ttl", "comment-column"].includes(x.kind) && touched.has(`${x.host}|${x.table}`));
  return { plan: first, outcomes, after, respelled, converged: failed.size === 0 && after.tasks.length === 0 && after.unreachable.length === 0 && !after.blocked };
}
