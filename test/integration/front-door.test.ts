// The README's `npm start` from a checkout wherever people keep one: as root in a 0700 directory (root's
// own home is 0700, and Debian makes every home 0700), and as an ordinary user in an ordinary 0700 home.
// The checkout is a copy of this working tree (tracked and new files, no dist/) with node_modules linked.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { POSTGRES_HOMES, postgresIdentity } from "../../infra/loopback/postgres.ts";
import { fixturePath } from "../support/goldens.ts";
import { processesIn } from "../support/stack.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const isRoot = process.getuid?.() === 0;
const USER = "chstack-it-user";

interface Who {
  readonly uid?: number;
  readonly gid?: number;
  readonly home: string;
}

/** A checkout of this tree in `dir`, its dev stack a 1x1 on ports of its own with a Postgres user and database of its own. */
function checkout(dir: string, portBase: number, owner?: Who): void {
  const files = spawnSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: root, encoding: "utf8" }).stdout.split("\0").filter(Boolean);
  for (const f of files) {
    if (!existsSync(join(root, f))) continue; // deleted in the working tree
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    copyFileSync(join(root, f), join(dir, f));
    chmodSync(join(dir, f), statSync(join(root, f)).mode & 0o777);
  }
  const fixture = readFileSync(fixturePath("golden-1x1.yaml"), "utf8").replace(/portBase: \d+/, `portBase: ${portBase}`);
  writeFileSync(join(dir, "Pulumi.dev.yaml"), `${fixture}  chstack:postgres:\n    user: metadata_owner\n    database: app_metadata\n`);
  if (owner?.uid !== undefined) spawnSync("chown", ["-R", `${owner.uid}:${owner.gid}`, dir]);
  // The locked dependencies as installed here (npm ci's work): linked for root; for another user hard-linked,
  // so that nothing above this tree needs to let them through (and left root's, read-only to them).
  if (owner?.uid === undefined) symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  else assert.equal(spawnSync("cp", ["-al", join(root, "node_modules"), join(dir, "node_modules")]).status, 0);
}

function run(cwd: string, command: string, args: string[], who?: Who): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: who?.home ?? process.env.HOME ?? "/", LANG: "C.UTF-8" };
    const child = spawn(command, args, { cwd, env, uid: who?.uid, gid: who?.gid });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
  });
}

/** `npm start`, then what the README says it gives: every server up, and psql as printed connecting. */
async function frontDoor(clone: string, who?: Who): Promise<{ postgresHome: string }> {
  const started = await run(clone, "npm", ["start"], who);
  assert.equal(started.code, 0, started.out);
  assert.match(started.out, /all 1 hosts match declaration/, started.out);
  const st = JSON.parse((await run(clone, process.execPath, ["cli/bin.mjs", "status", "--json"], who)).out);
  assert.deepEqual(st.hosts.map((h: { state: string }) => h.state), ["up", "up", "up"], JSON.stringify(st.hosts));
  const psql = started.out.split("\n").find((l) => l.includes("psql"))!.trim();
  assert.match(psql, /-U metadata_owner app_metadata$/, "the connection help names the stack's own Postgres user and database");
  const q = await run(clone, "sh", ["-c", `${psql} -tAc 'select current_user, current_database()'`], who);
  assert.equal(q.out.trim(), "metadata_owner|app_metadata", q.out);
  return { postgresHome: st.postgresHome };
}

async function purge(clone: string, who?: Who): Promise<void> {
  const r = await run(clone, process.execPath, ["cli/bin.mjs", "down", "--purge"], who);
  assert.equal(r.code, 0, r.out);
}

describe("npm start as root, in a directory only root may enter", { skip: !isRoot && "needs root" }, () => {
  const home = mkdtempSync(join(tmpdir(), "chstack-root-home-")); // mode 0700, like /root
  const clone = join(home, "checkout");
  after(async () => {
    if (existsSync(join(clone, ".chstack"))) await purge(clone).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  });

  test("the stack starts, Postgres's files live where the postgres user owns them, down --purge removes them", async () => {
    assert.equal(statSync(home).mode & 0o777, 0o700);
    checkout(clone, 29800);
    const { postgresHome } = await frontDoor(clone);
    assert.equal(dirname(postgresHome), POSTGRES_HOMES);
    const st = statSync(postgresHome);
    assert.equal(st.mode & 0o777, 0o700, "only the postgres user may enter it");
    assert.equal(st.uid, postgresIdentity().uid);
    await purge(clone);
    assert.ok(!existsSync(postgresHome), "down --purge removes Postgres's directory");
    assert.ok(!existsSync(join(clone, ".chstack", "dev")), "and the state dir");
    assert.deepEqual([...processesIn(clone), ...processesIn(postgresHome)], []);
  });
});

describe("npm start as an ordinary user in an ordinary home", () => {
  // As root: a user of its own with a 0700 home. Otherwise: whoever runs the tests, in a 0700 directory.
  let who: Who;
  if (isRoot) {
    if (spawnSync("id", [USER]).status !== 0) {
      const r = spawnSync("useradd", ["--create-home", "--shell", "/bin/sh", USER], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    }
    const id = (flag: string) => Number(spawnSync("id", [flag, USER], { encoding: "utf8" }).stdout);
    who = { uid: id("-u"), gid: id("-g"), home: `/home/${USER}` };
    chmodSync(who.home, 0o700);
  } else {
    who = { home: mkdtempSync(join(tmpdir(), "chstack-user-home-")) };
  }
  const clone = join(who.home, "checkout");
  after(async () => {
    if (existsSync(join(clone, ".chstack"))) await purge(clone, who).catch(() => undefined);
    if (isRoot) spawnSync("userdel", ["--remove", USER]);
    if (isRoot) rmSync(`/tmp/hsperfdata_${USER}`, { recursive: true, force: true }); // the JVM's, for ZooKeeper
    rmSync(isRoot ? clone : who.home, { recursive: true, force: true });
  });

  test("every server runs as that user, with every file in the checkout", async () => {
    checkout(clone, 29900, who);
    const { postgresHome } = await frontDoor(clone, who);
    assert.equal(postgresHome, join(clone, ".chstack", "dev", "postgres"), "Postgres runs as the user, beside the stack's other files");
    const servers = JSON.parse((await run(clone, process.execPath, ["cli/bin.mjs", "status", "--json"], who)).out).hosts.map((h: { pid: number }) => h.pid);
    const inCheckout = processesIn(clone); // the servers, and Postgres's own child processes
    assert.equal(servers.filter((pid: number) => inCheckout.includes(pid)).length, 3, "ZooKeeper, ClickHouse and Postgres run in the checkout");
    const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
    for (const pid of inCheckout) assert.equal(uidOf(pid), who.uid ?? process.getuid!(), `pid ${pid} runs as the user`);
    await purge(clone, who);
    assert.deepEqual(processesIn(clone), []);
  });
});
