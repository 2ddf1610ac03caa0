// Postgres 15 on loopback: initdb and postgres refuse to run as root, so as root they run as the `postgres`
// system user, in a directory it owns and can reach. scram auth, a generated password, 127.0.0.1 only.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { BINARIES } from "./packages.ts";
import type { StackSecrets } from "./secrets.ts";

/** Postgres's logs (and, run as ourselves, its data) under the state dir. */
export const POSTGRES_DIR = "postgres";
export const postgresLog = `${POSTGRES_DIR}/postgres.log`;
export const postgresInitLog = `${POSTGRES_DIR}/initdb.log`;

/** Where a root-run stack keeps Postgres's files: owned by the postgres user, whatever the checkout's modes. */
export const POSTGRES_HOMES = "/var/lib/chstack/postgres";

export interface Identity {
  readonly uid?: number;
  readonly gid?: number;
  readonly name: string;
}

/** Who runs Postgres: the `postgres` user when we are root, else ourselves. */
export function postgresIdentity(): Identity {
  if (process.getuid?.() !== 0) return { name: "the current user" };
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"));
  const [, , uid, gid] = line?.split(":") ?? [];
  if (uid === undefined || gid === undefined) throw new Error("there is no `postgres` system user; reinstall postgresql-15");
  return { uid: Number(uid), gid: Number(gid), name: "the postgres user" };
}

/**
 * Postgres's own directory (the data directory is `data` inside it), chosen once and recorded in the state.
 * Run as ourselves, it sits with the stack's other files. Run as root, Postgres runs as the postgres user,
 * who may not traverse the checkout (Debian makes home directories 0700): its directory is then
 * /var/lib/chstack/postgres/<stack>-<hash of the state dir>, owned by it, mode 0700, and `down --purge`
 * removes it. A stack whose data is already in its state dir keeps it there.
 */
export function postgresHome(stateDir: string, who: Identity, recorded?: string): string {
  if (recorded) return recorded;
  const local = join(stateDir, POSTGRES_DIR);
  if (who.uid === undefined || existsSync(join(local, "data", "PG_VERSION"))) return local;
  return join(POSTGRES_HOMES, `${basename(stateDir)}-${createHash("sha256").update(stateDir).digest("hex").slice(0, 12)}`);
}

/** A recorded home that `down --purge` may delete: only one of ours outside the state dir. */
export const removablePostgresHome = (home: string | undefined): home is string =>
  home !== undefined && dirname(home) === POSTGRES_HOMES && /^[A-Za-z0-9][A-Za-z0-9_.-]*-[0-9a-f]{12}$/.test(basename(home));

/** Every directory above the data dir must let that user through, or initdb fails far from the cause. */
function checkReachable(dir: string, who: Identity): void {
  if (who.uid === undefined) return;
  for (let d = dirname(dir); ; d = dirname(d)) {
    const st = statSync(d);
    const through = st.uid === who.uid ? st.mode & 0o100 : st.gid === who.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!through) {
      throw new Error(`${who.name} cannot reach ${dir}: ${d} is mode ${(st.mode & 0o777).toString(8)}${dir.startsWith(POSTGRES_HOMES) ? "" : `. This stack keeps its Postgres data in its state dir, where ${who.name} once could reach it: restore the mode of ${d}, or start the stack afresh with \`chstack down --purge\` (new stacks keep it under ${POSTGRES_HOMES})`}`);
    }
    if (d === dirname(d)) return;
  }
}

/** Create the data directory on first use. Idempotent: an existing cluster is left as it is. */
export function initPostgres(stateDir: string, home: string, secrets: StackSecrets, who: Identity, log: (line: string) => void): void {
  const data = join(home, "data");
  if (dirname(home) === POSTGRES_HOMES) mkdirSync(POSTGRES_HOMES, { recursive: true, mode: 0o755 });
  mkdirSync(home, { recursive: true, mode: 0o700 });
  if (who.uid !== undefined) chownSync(home, who.uid, who.gid!);
  checkReachable(home, who);
  if (existsSync(join(data, "PG_VERSION"))) return;

  log("postgres: initdb (first start)");
  const pwfile = join(home, ".pwfile");
  writeFileSync(pwfile, `${secrets.postgres.superuserPassword}\n`, { mode: 0o600 });
  if (who.uid !== undefined) chownSync(pwfile, who.uid, who.gid!);
  try {
    const r = spawnSync(
      BINARIES.initdb,
      ["-D", data, "-U", secrets.postgres.superuser, `--pwfile=${pwfile}`, "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "--encoding=UTF8", "--no-locale"],
      { cwd: home, uid: who.uid, gid: who.gid, encoding: "utf8" },
    );
    mkdirSync(join(stateDir, POSTGRES_DIR), { recursive: true });
    writeFileSync(join(stateDir, postgresInitLog), `${r.stdout ?? ""}${r.stderr ?? ""}`);
    if (r.status !== 0) {
      rmSync(data, { recursive: true, force: true });
      throw new Error(`initdb failed (exit ${r.status ?? r.signal}):\n${(r.stderr || r.stdout || String(r.error)).trim().split("\n").slice(-10).join("\n")}`);
    }
  } finally {
    rmSync(pwfile, { force: true });
  }
}
