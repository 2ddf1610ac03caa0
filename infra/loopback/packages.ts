// The Debian packages the loopback target runs. Missing ones are installed when we are root (apt-get update
// first); otherwise the message says exactly what to install.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

export const BINARIES = {
  clickhouseServer: "/usr/sbin/clickhouse-server",
  clickhouseClient: "/usr/bin/clickhouse-client",
  zookeeperJar: "/usr/share/java/zookeeper.jar",
  slf4jSimple: "/usr/share/java/slf4j-simple.jar",
  java: "/usr/bin/java",
  postgres: "/usr/lib/postgresql/15/bin/postgres",
  initdb: "/usr/lib/postgresql/15/bin/initdb",
} as const;

const PACKAGE_OF: Record<keyof typeof BINARIES, string> = {
  clickhouseServer: "clickhouse-server",
  clickhouseClient: "clickhouse-client",
  zookeeperJar: "zookeeper",
  slf4jSimple: "zookeeper",
  java: "zookeeper",
  postgres: "postgresql-15",
  initdb: "postgresql-15",
};

export function missingPackages(): string[] {
  const missing = (Object.keys(BINARIES) as (keyof typeof BINARIES)[]).filter((k) => !existsSync(BINARIES[k]));
  return [...new Set(missing.map((k) => PACKAGE_OF[k]))];
}

/** Install what is missing, or explain how. `log` gets one line per step. */
export function ensurePackages(log: (line: string) => void = () => undefined): void {
  const missing = missingPackages();
  if (missing.length === 0) return;
  const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  if (process.getuid?.() !== 0) {
    throw new Error(`the loopback stack needs Debian packages that are missing: ${missing.join(", ")}. Install them with:\n  sudo ${command}`);
  }
  log(`installing Debian packages: ${missing.join(", ")} (apt-get update first)`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", ...missing]]) {
    const r = spawnSync("apt-get", args, { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    if (r.status !== 0) {
      throw new Error(`apt-get ${args[0]} failed (exit ${r.status ?? r.signal}):\n${(r.stderr || r.stdout || "").trim().split("\n").slice(-10).join("\n")}`);
    }
  }
  const still = missingPackages();
  if (still.length > 0) throw new Error(`installed, yet still missing: ${still.join(", ")}`);
  log(`installed ${missing.join(", ")}`);
}
