// How plans and apply results read, for people.
import type { ApplyResult } from "../schema/apply.ts";
import type { Drift, Plan, Task } from "../schema/plan.ts";

/** The --allow flag that would apply each kind of drift. */
const ALLOW_FOR: Partial<Record<Drift["kind"], string>> = { "undeclared-table": "drop-table", "undeclared-column": "drop-column", "undeclared-index": "drop-index", "undeclared-projection": "drop-projection", "type-change": "modify-type" };

const firstLine = (sql: string) => {
  const lines = sql.split("\n");
  return lines.length > 1 ? `${lines[0]} ... (${lines.length} lines)` : sql;
};

function taskLine(x: Task): string {
  return `    ${x.kind.padEnd(15)} ${x.table}${x.column ? `.${x.column}` : ""}${x.detail ? ` (${x.detail})` : ""}\n      ${firstLine(x.sql)}`;
}

export function formatPlan(p: Plan, stack: string): string {
  const out = [`schema plan for stack ${stack} (declaration ${p.declarationHash})`];
  const groups = p.tasks.filter((x) => x.phase === 3);
  if (groups.length > 0) {
    out.push("", "replicated ALTERs, once per replication group:");
    for (const x of groups) out.push(`  on ${x.host}, reaching ${x.group!.join(", ")}`, taskLine(x));
  }
  const hosts = [...new Set(p.tasks.filter((x) => x.phase !== 3).map((x) => x.host))];
  if (hosts.length > 0) out.push("", "per host:");
  for (const h of hosts) {
    out.push(`  ${h}`);
    for (const x of p.tasks.filter((y) => y.host === h && y.phase !== 3)) out.push(taskLine(x));
  }
  if (p.drift.length > 0) out.push("", "drift:");
  for (const d of p.drift) {
    const how = d.resolved ? `applied with --allow ${d.allowedBy}` : d.kind === "needs-migration" ? "needs a migration; never applied by chstack" : d.kind === "unsupported" ? "refused for this host" : `refused; --allow ${ALLOW_FOR[d.kind] ?? "modify-type"} applies it`;
    out.push(`  ${d.kind.padEnd(17)} ${d.table}${d.column ? `.${d.column}` : ""} on ${d.hosts.join(", ")}: ${d.reason} (${how})`);
  }
  for (const u of p.unreachable) out.push(`  unreachable: ${u.host}: ${u.error}`);
  const pending = p.drift.filter((d) => !d.resolved).length;
  out.push("", p.tasks.length === 0 && pending === 0 && p.unreachable.length === 0
    ? "nothing to do: every host matches the declaration"
    : `${p.tasks.length} statement(s) to run${pending ? `; ${pending} unresolved difference(s): apply will refuse` : ""}${p.unreachable.length ? `; ${p.unreachable.length} host(s) unreachable` : ""}`);
  return out.join("\n");
}

export function formatApply(r: ApplyResult): string {
  const out: string[] = [];
  const ran = r.outcomes.reduce((n, o) => n + o.applied.length, 0);
  for (const o of r.outcomes) {
    if (o.failed) {
      out.push(`${o.host}: FAILED at ${o.failed.task.kind} ${o.failed.task.table}${o.failed.task.column ? `.${o.failed.task.column}` : ""}: ${o.failed.error}`);
      if (o.undone.length > 0) out.push(`  left undone: ${o.undone.map((x) => `${x.kind} ${x.table}${x.column ? `.${x.column}` : ""}`).join("; ")}`);
    }
  }
  if (r.respelled.length > 0) {
    out.push("these statements ran, yet the hosts still differ the same way: they print the declaration in their own spelling; declare it as they print it:");
    for (const x of r.respelled) out.push(`  ${x.host} ${x.table}${x.column ? `.${x.column}` : ""}: ${x.detail ?? x.sql}`);
  }
  for (const u of r.plan.unreachable) out.push(`${u.host}: unreachable (${u.error}); nothing was applied there: run schema apply again once it is back`);
  out.push(r.converged
    ? `${ran === 0 ? "nothing to do" : `applied ${ran} statement(s)`}: all ${r.outcomes.length} hosts match declaration ${r.plan.declarationHash}`
    : `applied ${ran} statement(s); not converged: ${r.after.tasks.length} statement(s) still pending${r.after.unreachable.length ? `, ${r.after.unreachable.length} host(s) unreachable` : ""}${unresolved(r.after)}`);
  return out.join("\n");
}

/** What still differs that no statement will change, for the line that says an apply did not converge. */
function unresolved(p: ApplyResult["after"]): string {
  const left = p.drift.filter((d) => !d.resolved);
  return left.length === 0 ? "" : `, ${left.length} unresolved difference(s):\n${left.map((d) => `  ${d.kind} ${d.table}${d.column ? `.${d.column}` : ""} on ${d.hosts.join(", ")}: ${d.reason}`).join("\n")}`;
}
