// The planner: declared tables vs each host's actual state -> ordered tasks and drift. Pure.
//
// Phases run in order; within a phase hosts run in parallel, each host's tasks in order:
//   1 drop        undeclared tables, when --allow drop-table (Distributed ones first)
//   2 database    CREATE DATABASE on every host
//   3 replicated  ALTERs of a replicated table, once per replication group (the hosts sharing its
//                 ZooKeeper path: a shard by default), on one live replica that has the table
//   4 local       on every host: SYSTEM SYNC REPLICA where a group was altered or a replica lags, CREATE of
//                 missing local tables (after the ALTERs, so a new replica matches ZooKeeper), ALTERs of
//                 non-replicated tables
//   5 distributed CREATE or ALTER of Distributed tables, after the local tables they read
import { createHash } from "node:crypto";
import type { ClickHouseHost, Topology } from "../infra/model/topology.ts";
import type { ActualIndex, ActualTable, HostState } from "./actual.ts";
import * as ddl from "./ddl.ts";
import type { Declaration, LocalTable, TableDecl } from "./declare.ts";
import { distributedRefusal, engineParameters, fullName, zookeeperPathOf } from "./tables.ts";
import { appendedOrderBy, diffColumns, insertAfter, migrationReasons, ttlChanged } from "./diff.ts";
import { sameExpression } from "./actual.ts";
import { quoteName } from "./expressions.ts";
import { FEATURES, featuresUsed, parseVersion, sessionSettings, supports } from "./features.ts";

export type AllowKind = "drop-column" | "drop-table" | "modify-type" | "drop-index" | "drop-projection";
export const ALLOW_KINDS: readonly AllowKind[] = ["drop-column", "drop-table", "modify-type", "drop-index", "drop-projection"];

export type StepKind =
  | "drop-table" | "create-database" | "create-table" | "add-column" | "modify-column" | "comment-column"
  | "modify-ttl" | "drop-column" | "modify-type" | "sync-replica" | "add-index" | "drop-index" | "add-projection" | "drop-projection";

export interface Task {
  readonly phase: 1 | 2 | 3 | 4 | 5;
  /** The host the statement runs on. */
  readonly host: string;
  readonly kind: StepKind;
  readonly table: string;
  readonly column?: string;
  readonly sql: string;
  /** For a replicated ALTER: every host of the replication group it reaches. */
  readonly group?: readonly string[];
  /** For a change to what exists: what the host has, against what is declared. */
  readonly detail?: string;
  /** Session settings the statement needs on this host's version. */
  readonly settings?: Readonly<Record<string, number>>;
}

export type DriftKind = "undeclared-table" | "undeclared-column" | "undeclared-index" | "undeclared-projection" | "type-change" | "needs-migration" | "unsupported";

export interface Drift {
  readonly kind: DriftKind;
  readonly hosts: readonly string[];
  readonly table: string;
  readonly column?: string;
  readonly reason: string;
  /** The flag that would apply it; set only when it is allowed and planned. */
  readonly allowedBy?: AllowKind;
  readonly resolved: boolean;
}

export interface Plan {
  readonly declarationHash: string;
  readonly tasks: readonly Task[];
  readonly drift: readonly Drift[];
  readonly unreachable: readonly { host: string; error: string }[];
  /** Unresolved drift: apply refuses to start. */
  readonly blocked: boolean;
}

export type Observed = { ok: true; state: HostState } | { ok: false; error: string };

type Add = (kind: StepKind, column: string | undefined, sql: string, detail?: string) => void;

export function declarationHash(decl: Declaration, cluster: string): string {
  const text = decl.tables.map((t) => (t.kind === "table" ? ddl.createLocalTable(t) : ddl.createDistributedTable(t, cluster))).join(";\n");
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

const expandPath = (path: string, host: ClickHouseHost) =>
  path.replaceAll("{shard}", host.macros.shard).replaceAll("{cluster}", host.macros.cluster).replaceAll("{replica}", host.macros.replica);

export function plan(decl: Declaration, t: Topology, observed: ReadonlyMap<string, Observed>, allow: ReadonlySet<AllowKind> = new Set()): Plan {
  const tasks: Task[] = [];
  const drift: Drift[] = [];
  const unreachable: { host: string; error: string }[] = [];
  const live: { host: ClickHouseHost; state: HostState }[] = [];
  for (const host of t.hosts) {
    const o = observed.get(host.name);
    if (!o || !o.ok) unreachable.push({ host: host.name, error: o && !o.ok ? o.error : "not introspected" });
    else live.push({ host, state: o.state });
  }
  const stateOf = new Map(live.map((l) => [l.host.name, l.state]));
  const addDrift = (d: Omit<Drift, "resolved">, resolved = false) => drift.push({ ...d, resolved });

  // Version gates: refuse up front, per host and feature.
  for (const { host, state } of live) {
    const v = parseVersion(state.version);
    for (const table of decl.tables) {
      for (const [feature, field] of featuresUsed(table)) {
        if (!supports(v, feature)) {
          const [major, minor] = FEATURES[feature].since;
          addDrift({ kind: "unsupported", hosts: [host.name], table: fullName(table), reason: `${field}: ${FEATURES[feature].name} needs ClickHouse ${major}.${minor}+, ${host.name} runs ${state.version}` });
        }
      }
    }
  }

  // Undeclared tables in the declared databases.
  const declared = new Set(decl.tables.map(fullName));
  const databases = [...new Set(decl.tables.map((x) => x.database))];
  for (const { host, state } of live) {
    const extra = [...state.tables.values()].filter((a) => databases.includes(a.database) && !declared.has(`${a.database}.${a.name}`));
    extra.sort((a, b) => Number(b.engine === "Distributed") - Number(a.engine === "Distributed"));
    for (const a of extra) {
      const name = `${a.database}.${a.name}`;
      const ok = allow.has("drop-table");
      addDrift({ kind: "undeclared-table", hosts: [host.name], table: name, reason: `${name} (${a.engine}) exists on ${host.name} but is not declared`, allowedBy: ok ? "drop-table" : undefined }, ok);
      if (ok) tasks.push({ phase: 1, host: host.name, kind: "drop-table", table: name, sql: ddl.dropTable(`${quoteName(a.database)}.${quoteName(a.name)}`) });
    }
    for (const db of databases) if (!state.databases.has(db)) tasks.push({ phase: 2, host: host.name, kind: "create-database", table: db, sql: ddl.createDatabase(db) });
  }

  for (const table of decl.tables) {
    const name = fullName(table);
    if (table.kind === "distributed") {
      const refusal = distributedRefusal(table, t);
      if (refusal) {
        addDrift({ kind: "unsupported", hosts: t.hosts.map((h) => h.name), table: name, reason: refusal });
        continue;
      }
    }
    if (table.kind === "table" && table.replicated) {
      // Replication groups: hosts whose expanded ZooKeeper path is the same.
      const groups = new Map<string, ClickHouseHost[]>();
      for (const h of t.hosts) {
        const key = expandPath(zookeeperPathOf(table), h);
        groups.set(key, [...(groups.get(key) ?? []), h]);
      }
      for (const members of groups.values()) planReplicatedGroup(table, members);
    } else {
      for (const { host, state } of live) planPerHost(table, host, state.tables.get(name));
    }
  }

  function planReplicatedGroup(table: LocalTable, members: readonly ClickHouseHost[]) {
    const name = fullName(table);
    const liveMembers = members.filter((m) => stateOf.has(m.name));
    const group = members.map((m) => m.name);
    // The most up-to-date replica (fewest declared columns missing) takes the group's ALTERs.
    const diffs = liveMembers
      .filter((m) => stateOf.get(m.name)!.tables.has(name))
      .map((m) => ({ host: m, diff: diffColumns(table, stateOf.get(m.name)!.tables.get(name)!) }))
      .sort((a, b) => a.diff.missing.length - b.diff.missing.length);
    const holders = diffs.map((d) => d.host);
    const on = holders[0];
    if (on) {
      const actualOn = stateOf.get(on.name)!.tables.get(name)!;
      const lagging = new Set<string>();
      const toAdd: { column: (typeof table.columns)[number]; after: string | undefined }[] = [];
      table.columns.forEach((column, i) => {
        const lacking = diffs.filter((d) => d.diff.missing.some((m) => m.column.name === column.name));
        if (lacking.length === 0) return;
        // On no replica yet: ALTER once. On some: the others are catching up from the replication log.
        if (lacking.length === diffs.length) toAdd.push({ column, after: insertAfter(table.columns, i) });
        else for (const d of lacking) lagging.add(d.host.name);
      });
      const added = new Set(toAdd.map((a) => a.column.name));
      for (const r of migrationReasons(table, actualOn, t.cluster, added)) addDrift({ kind: "needs-migration", hosts: holders.map((h) => h.name), table: name, reason: r });
      let altered = false;
      const alter: Add = (kind, column, sql, detail) => {
        altered = true;
        tasks.push({ phase: 3, host: on.name, kind, table: name, column, sql, group, ...(detail ? { detail } : {}) });
      };
      addColumns(name, table, actualOn, toAdd, alter);
      changes(table, actualOn, diffs[0]!.diff, holders.map((h) => h.name), alter);
      for (const h of holders) {
        if (lagging.has(h.name) || (altered && h.name !== on.name)) {
          tasks.push({ phase: 4, host: h.name, kind: "sync-replica", table: name, sql: ddl.syncReplica(name) });
        }
      }
    }
    for (const m of liveMembers) {
      if (!stateOf.get(m.name)!.tables.has(name)) tasks.push({ phase: 4, host: m.name, kind: "create-table", table: name, sql: ddl.createLocalTable(table) });
    }
  }

  function planPerHost(table: TableDecl, host: ClickHouseHost, actual: ActualTable | undefined) {
    const name = fullName(table);
    const phase = table.kind === "distributed" ? 5 : 4;
    if (!actual) {
      const sql = table.kind === "distributed" ? ddl.createDistributedTable(table, t.cluster) : ddl.createLocalTable(table);
      tasks.push({ phase, host: host.name, kind: "create-table", table: name, sql });
      return;
    }
    const d = diffColumns(table, actual);
    for (const r of migrationReasons(table, actual, t.cluster, new Set(d.missing.map((m) => m.column.name)))) addDrift({ kind: "needs-migration", hosts: [host.name], table: name, reason: r });
    const add: Add = (kind, column, sql, detail) => tasks.push({ phase, host: host.name, kind, table: name, column, sql, ...(detail ? { detail } : {}) });
    addColumns(name, table, actual, d.missing, add);
    changes(table, actual, d, [host.name], add);
  }

  /** New columns, one ALTER each; those a declared ORDER BY appends go in one ALTER with MODIFY ORDER BY. */
  function addColumns(name: string, table: TableDecl, actual: ActualTable, toAdd: readonly { column: LocalTable["columns"][number]; after: string | undefined }[], add: Add) {
    const key = appendedOrderBy(table, actual, new Set(toAdd.map((a) => a.column.name)));
    for (const { column, after } of toAdd) if (!key?.appended.has(column.name)) add("add-column", column.name, ddl.addColumn(name, column, after));
    if (key) {
      const together = toAdd.filter((a) => key.appended.has(a.column.name));
      add("add-column", together.map((a) => a.column.name).join(", "), ddl.addColumnsAndOrderBy(name, together, key.orderBy), `ORDER BY: host has ${actual.sortingKey}, declared ${key.orderBy.join(", ")}`);
    }
  }

  /**
   * Changes to columns and TTL that exist on the host: defaults and codecs (never beside a type change,
   * which is drift of its own), comments, TTL; then undeclared columns and type changes, planned only
   * when allowed.
   */
  function changes(table: TableDecl, actual: ActualTable, d: ReturnType<typeof diffColumns>, hosts: string[], add: Add) {
    const name = fullName(table);
    const has = (c: { name: string }) => actual.columns.find((x) => x.name === c.name)!;
    const retyped = (c: { name: string }) => d.typeChanged.some((x) => x.column.name === c.name);
    const modified = new Set<string>();
    // A key column (partition, sorting, primary or sampling key, or the engine's sign or version column)
    // cannot be altered: 18.16 refuses ("trying to ALTER key column"). Report it before anything runs.
    const engineRoles = new Map(table.kind === "table" ? engineParameters(table.engine).map((p) => [p.name, p.role]) : []);
    const locked = new Set<string>();
    for (const c of [...d.defaultChanged, ...d.codecChanged.map((x) => x.column), ...d.typeChanged.map((x) => x.column)]) {
      const role = engineRoles.get(c.name) ?? (has(c).inKey ? "a key column" : undefined);
      if (!role || locked.has(c.name)) continue;
      locked.add(c.name);
      addDrift({ kind: "needs-migration", hosts, table: name, column: c.name, reason: `column ${quoteName(c.name)} is ${role}: its type, default and codec cannot be altered` });
    }
    for (const c of d.defaultChanged) {
      if (retyped(c) || locked.has(c.name)) continue;
      modified.add(c.name);
      add("modify-column", c.name, ddl.modifyColumn(name, c), `default: host has ${`${has(c).defaultKind} ${has(c).defaultExpression}`.trim() || "none"}, declared ${`${c.default?.kind ?? ""} ${c.default?.expression ?? ""}`.trim() || "none"}`);
    }
    for (const { column, actual: a } of d.codecChanged) {
      if (retyped(column) || modified.has(column.name) || locked.has(column.name)) continue;
      add("modify-column", column.name, ddl.modifyColumn(name, column), `codec: host has ${a.codec || "none"}, declared ${(column.codec ?? []).join(", ") || "none"}`);
    }
    for (const c of d.commentChanged) add("comment-column", c.name, ddl.commentColumn(name, c), `comment: host has ${JSON.stringify(has(c).comment)}, declared ${JSON.stringify(c.comment ?? "")}`);
    if (table.kind === "table" && table.ttl && ttlChanged(table, actual)) add("modify-ttl", undefined, ddl.modifyTtl(name, table.ttl), `TTL: host has ${actual.ttl || "none"}, declared ${table.ttl}`);
    columnDrift(name, hosts, { ...d, typeChanged: d.typeChanged.filter((x) => !locked.has(x.column.name)) }, add);
    if (table.kind === "table") indexChanges(table, actual, hosts, add);
  }

  /** A table's indexes and projections, each compared by name against what the host has. */
  function indexChanges(table: LocalTable, actual: ActualTable, hosts: string[], add: Add) {
    const name = fullName(table);
    const indexText = (x: ActualIndex) => `${x.expression} TYPE ${x.type} GRANULARITY ${x.granularity}`;
    namedChanges(name, hosts, add, {
      what: "index", declared: table.indexes, actual: actual.indexes, text: indexText, dropAllowedBy: "drop-index", undeclared: "undeclared-index",
      same: (a, x) => sameExpression(a.expression, x.expression) && sameExpression(a.type, x.type) && a.granularity === x.granularity,
      add: (x) => ["add-index", ddl.addIndex(name, x)], drop: (n) => ["drop-index", ddl.dropIndex(name, n)],
    });
    namedChanges(name, hosts, add, {
      what: "projection", declared: table.projections, actual: actual.projections, text: (x) => `(${x.query})`, dropAllowedBy: "drop-projection", undeclared: "undeclared-projection",
      same: (a, x) => sameExpression(a.query, x.query),
      add: (x) => ["add-projection", ddl.addProjection(name, x)], drop: (n) => ["drop-projection", ddl.dropProjection(name, n)],
    });
  }

  /** Missing ones are added; a changed one needs a migration; an undeclared one is dropped only when allowed. */
  function namedChanges<A extends { name: string }>(name: string, hosts: string[], add: Add, part: {
    what: string; declared: readonly A[]; actual: readonly A[]; text: (x: A) => string; same: (a: A, x: A) => boolean;
    dropAllowedBy: AllowKind; undeclared: DriftKind; add: (x: A) => [StepKind, string]; drop: (name: string) => [StepKind, string];
  }) {
    const have = new Map(part.actual.map((x) => [x.name, x]));
    for (const x of part.declared) {
      const a = have.get(x.name);
      if (!a) add(part.add(x)[0], x.name, part.add(x)[1]);
      else if (!part.same(a, x)) addDrift({ kind: "needs-migration", hosts, table: name, column: x.name, reason: `${part.what} ${quoteName(x.name)} is ${part.text(a)}, declared ${part.text(x)}` });
    }
    const declared = new Set(part.declared.map((x) => x.name));
    for (const a of part.actual.filter((x) => !declared.has(x.name))) {
      const ok = allow.has(part.dropAllowedBy);
      addDrift({ kind: part.undeclared, hosts, table: name, column: a.name, reason: `${part.what} ${quoteName(a.name)} is not declared`, allowedBy: ok ? part.dropAllowedBy : undefined }, ok);
      if (ok) add(part.drop(a.name)[0], a.name, part.drop(a.name)[1]);
    }
  }

  /** Undeclared columns and type changes: drift, planned only when allowed. */
  function columnDrift(name: string, hosts: string[], d: ReturnType<typeof diffColumns>, add: Add) {
    for (const a of d.undeclared) {
      const ok = allow.has("drop-column");
      addDrift({ kind: "undeclared-column", hosts, table: name, column: a.name, reason: `column ${quoteName(a.name)} ${a.type} is not declared`, allowedBy: ok ? "drop-column" : undefined }, ok);
      if (ok) add("drop-column", a.name, ddl.dropColumn(name, a.name));
    }
    for (const { column, actual } of d.typeChanged) {
      const ok = allow.has("modify-type");
      addDrift({ kind: "type-change", hosts, table: name, column: column.name, reason: `column ${quoteName(column.name)} is ${actual.type}, declared ${column.type}`, allowedBy: ok ? "modify-type" : undefined }, ok);
      if (ok) add("modify-type", column.name, ddl.modifyColumn(name, column));
    }
  }

  tasks.sort((a, b) => a.phase - b.phase);
  return {
    declarationHash: declarationHash(decl, t.cluster),
    tasks: tasks.map((x) => {
      const settings = sessionSettings(x.sql, stateOf.get(x.host)?.version);
      return settings ? { ...x, settings } : x;
    }),
    drift,
    unreachable,
    blocked: drift.some((d) => !d.resolved),
  };
}
