import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { POSTGRES_HOMES, postgresHome, removablePostgresHome } from "../../infra/loopback/postgres.ts";

const project = mkdtempSync(join(tmpdir(), "chstack-pghome-"));
after(() => rmSync(project, { recursive: true, force: true }));
const asRoot = { uid: 107, gid: 114, name: "the postgres user" };
const asSelf = { name: "the current user" };

test("run as ourselves, Postgres's directory is in the state dir", () => {
  assert.equal(postgresHome(join(project, ".chstack/a"), asSelf), join(project, ".chstack/a/postgres"));
});

test("run as the postgres user, a new stack's directory is under /var/lib/chstack/postgres, one per state dir", () => {
  const a = postgresHome(join(project, ".chstack/a"), asRoot);
  const other = postgresHome(join(project, "elsewhere/.chstack/a"), asRoot);
  assert.equal(dirname(a), POSTGRES_HOMES);
  assert.match(a, /\/a-[0-9a-f]{12}$/);
  assert.notEqual(a, other, "the same stack name in another checkout");
  assert.equal(postgresHome(join(project, ".chstack/a"), asRoot), a, "the same every time");
});

test("a stack whose data is already in its state dir keeps it there, and a recorded choice wins", () => {
  const dir = join(project, ".chstack/old");
  mkdirSync(join(dir, "postgres/data"), { recursive: true });
  writeFileSync(join(dir, "postgres/data/PG_VERSION"), "15\n");
  assert.equal(postgresHome(dir, asRoot), join(dir, "postgres"));
  assert.equal(postgresHome(join(project, ".chstack/b"), asRoot, "/somewhere/recorded"), "/somewhere/recorded");
});

test("down --purge deletes only a directory of ours under /var/lib/chstack/postgres", () => {
  assert.ok(removablePostgresHome(`${POSTGRES_HOMES}/dev-0123456789ab`));
  for (const bad of [undefined, "/", POSTGRES_HOMES, `${POSTGRES_HOMES}/..`, `${POSTGRES_HOMES}/a/b`, "/var/lib/postgresql", "/work/x/.chstack/dev/postgres"]) {
    assert.ok(!removablePostgresHome(bad), String(bad));
  }
});
