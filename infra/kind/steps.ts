// What `npm run kind:up` and `kind:down` do, as data: the tools they need (and how to get each) and the
// commands they run, in order. Pure, so that everything but the tools themselves is tested here, where
// neither Docker, kind nor the Pulumi CLI exists.
import { KIND_CLUSTER_NAME } from "./config.ts";

export const TOOLS = {
  docker: "https://docs.docker.com/engine/install/ (kind runs its nodes as containers, so the engine must be running)",
  kind: "https://kind.sigs.k8s.io/docs/user/quick-start/#installation (e.g. go install sigs.k8s.io/kind@latest)",
  pulumi: "https://www.pulumi.com/docs/install/ (curl -fsSL https://get.pulumi.com | sh)",
} as const;
export type Tool = keyof typeof TOOLS;

export interface Step {
  readonly describe: string;
  readonly command: readonly string[];
  /** Run only when this command fails (exit status not 0): `stack select || stack init`. */
  readonly unless?: readonly string[];
}

export interface KindEnv {
  /** The project directory (absolute). */
  readonly root: string;
  readonly stack: string;
  /** Where the generated kind config is written. */
  readonly kindConfigFile: string;
  /** The app's image when it is the reference app's (built from app/Dockerfile and loaded into the nodes); else undefined. */
  readonly referenceAppImage?: string;
}

export function missingToolsMessage(missing: readonly Tool[]): string {
  return [
    `kind needs ${missing.join(", ")}, which ${missing.length === 1 ? "is" : "are"} not on PATH. None of them exists on the project's own machines; install on your laptop:`,
    ...missing.map((t) => `  ${t}: ${TOOLS[t]}`),
  ].join("\n");
}

/** The local file backend, kept under .chstack/ (git-ignored) beside the loopback stacks. */
export const backendUrl = (root: string) => `file://${root}/.chstack/pulumi-state`;

/** The directory of a `file://` backend: the Pulumi CLI refuses one that does not exist ("unable to open bucket"). */
export function localBackendDir(url: string): string | undefined {
  return url.startsWith("file://") ? decodeURIComponent(new URL(url).pathname) : undefined;
}

export function upSteps(e: KindEnv, clusterExists: boolean): Step[] {
  const pulumi = (...args: string[]) => ["pulumi", ...args, "--stack", e.stack];
  return [
    { describe: "check that the Docker engine answers", command: ["docker", "info", "--format", "{{.ServerVersion}}"] },
    ...(clusterExists ? [] : [{ describe: `create the kind cluster ${KIND_CLUSTER_NAME}`, command: ["kind", "create", "cluster", "--name", KIND_CLUSTER_NAME, "--config", e.kindConfigFile] }]),
    ...(e.referenceAppImage ? [
      { describe: `build the reference app's image ${e.referenceAppImage} (app/Dockerfile)`, command: ["docker", "build", "-f", `${e.root}/app/Dockerfile`, "-t", e.referenceAppImage, e.root] },
      { describe: "load it into the kind nodes (no registry: the pods find it there)", command: ["kind", "load", "docker-image", e.referenceAppImage, "--name", KIND_CLUSTER_NAME] },
    ] : []),
    { describe: `select or create the ${e.stack} stack (local file backend, passphrase secrets)`, command: ["pulumi", "stack", "select", e.stack], unless: ["pulumi", "stack", "init", e.stack, "--secrets-provider", "passphrase"] },
    { describe: "point the Kubernetes provider at the kind cluster", command: pulumi("config", "set", "kubernetes:context", `kind-${KIND_CLUSTER_NAME}`) },
    { describe: "deploy", command: pulumi("up", "--yes") },
  ];
}

export function downSteps(e: KindEnv): Step[] {
  return [
    { describe: `delete the kind cluster ${KIND_CLUSTER_NAME} (and every volume in it)`, command: ["kind", "delete", "cluster", "--name", KIND_CLUSTER_NAME] },
    { describe: `forget the ${e.stack} stack's local state`, command: ["pulumi", "stack", "rm", e.stack, "--yes", "--force"] },
  ];
}
