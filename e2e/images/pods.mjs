// Turns `chstack render k8s` output into a plan for verify.sh: each workload's pod (one replica) as the
// kubelet would run it — the process argv (command/args over the image's Entrypoint/Cmd), env with
// secretKeyRef/configMapKeyRef resolved, the user (runAsUser/runAsGroup/fsGroup), its volumes written out
// as files (configMap, secret, projected, emptyDir, the volumeClaimTemplates' PVCs) and its probes.
//
//   node pods.mjs RENDER_DIR OUT_DIR IMAGES_JSON [OFFICIAL=STANDIN ...]
//
// IMAGES_JSON maps an image reference to its config ({Entrypoint, Cmd}); OFFICIAL=STANDIN pairs replace
// an image the program hardcodes (the schema Job's node:24-alpine). Writes OUT_DIR/plan.json.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";

const [renderDir, outDir, imagesJson, ...maps] = process.argv.slice(2);
if (!renderDir || !outDir || !imagesJson) {
  console.error("usage: node pods.mjs RENDER_DIR OUT_DIR IMAGES_JSON [OFFICIAL=STANDIN ...]");
  process.exit(2);
}
// The repository's own yaml package (the one the render command writes with).
const require = createRequire(resolve(import.meta.dirname, "../../package.json"));
const YAML = require("yaml");

const images = JSON.parse(readFileSync(imagesJson, "utf8"));
const replace = Object.fromEntries(maps.map((m) => m.split("=", 2)));
const objects = readdirSync(renderDir).filter((f) => f.endsWith(".yaml")).sort()
  .map((f) => YAML.parse(readFileSync(join(renderDir, f), "utf8")));
const find = (kind, name) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind} ${name} is not in the render`);
  return o;
};
const secretData = (name) => {
  const s = find("Secret", name);
  return { ...Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()])), ...(s.stringData ?? {}) };
};
const configMapData = (name) => find("ConfigMap", name).data ?? {};

const bytes = (q) => {
  if (q === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q));
  if (!m) throw new Error(`quantity ${q}`);
  const mult = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2]] ?? 1;
  return Math.round(Number(m[1]) * mult);
};

/** A volume's files (relative path -> content), from whole objects or their items. */
function keyed(data, items) {
  if (!items) return { ...data };
  return Object.fromEntries(items.map((i) => {
    if (!(i.key in data)) throw new Error(`key ${i.key} is missing`);
    return [i.path, data[i.key]];
  }));
}

function volumeFiles(v) {
  if (v.configMap) return keyed(configMapData(v.configMap.name), v.configMap.items);
  if (v.secret) return keyed(secretData(v.secret.secretName), v.secret.items);
  if (v.projected) {
    return Object.assign({}, ...v.projected.sources.map((s) =>
      s.configMap ? keyed(configMapData(s.configMap.name), s.configMap.items)
        : s.secret ? keyed(secretData(s.secret.name), s.secret.items)
          : (() => { throw new Error(`projected source ${JSON.stringify(s)}`); })()));
  }
  return undefined;
}

function env(list, hostname) {
  const out = { HOSTNAME: hostname };
  for (const e of list ?? []) {
    if (e.value !== undefined) out[e.name] = String(e.value);
    else if (e.valueFrom?.secretKeyRef) out[e.name] = secretData(e.valueFrom.secretKeyRef.name)[e.valueFrom.secretKeyRef.key];
    else if (e.valueFrom?.configMapKeyRef) out[e.name] = configMapData(e.valueFrom.configMapKeyRef.name)[e.valueFrom.configMapKeyRef.key];
    else throw new Error(`env ${e.name}: unsupported source`);
    if (out[e.name] === undefined) throw new Error(`env ${e.name}: the referenced key is missing`);
  }
  return out;
}

const plan = [];
for (const o of objects.filter((x) => x.kind === "StatefulSet" || x.kind === "Job")) {
  const pod = o.spec.template.spec;
  const podName = o.kind === "StatefulSet" ? `${o.metadata.name}-0` : o.metadata.name;
  const dir = join(outDir, podName);
  const volumes = {};
  for (const v of pod.volumes ?? []) {
    const vdir = join(dir, "volumes", v.name);
    mkdirSync(vdir, { recursive: true });
    const files = volumeFiles(v);
    if (files) for (const [p, c] of Object.entries(files)) writeFileSync(join(vdir, p), c);
    volumes[v.name] = { host: vdir, kind: files ? "files" : v.emptyDir ? "emptyDir" : "other" };
  }
  for (const c of o.spec.volumeClaimTemplates ?? []) {
    const vdir = join(dir, "volumes", c.metadata.name);
    mkdirSync(vdir, { recursive: true });
    volumes[c.metadata.name] = { host: vdir, kind: "pvc" };
  }
  const sc = pod.securityContext ?? {};
  const containers = [
    ...(pod.initContainers ?? []).map((c) => ({ ...c, init: true })),
    ...pod.containers.map((c) => ({ ...c, init: false })),
  ].map((c) => {
    const image = replace[c.image] ?? c.image;
    const config = images[image];
    if (!config) throw new Error(`${podName}/${c.name}: no stand-in for image ${c.image}`);
    const argv = c.command ? [...c.command, ...(c.args ?? [])] : [...(config.Entrypoint ?? []), ...(c.args ?? config.Cmd ?? [])];
    const csc = c.securityContext ?? {};
    return {
      name: c.name,
      init: c.init,
      image,
      officialImage: c.image,
      argv,
      env: env(c.env, podName),
      uid: csc.runAsUser ?? sc.runAsUser ?? 0,
      gid: csc.runAsGroup ?? sc.runAsGroup ?? 0,
      memory: bytes(c.resources?.limits?.memory),
      mounts: (c.volumeMounts ?? []).map((m) => {
        const v = volumes[m.name];
        if (!v) throw new Error(`${podName}/${c.name}: volume ${m.name} is not defined`);
        return { host: v.host, path: m.mountPath, readOnly: Boolean(m.readOnly) };
      }),
      readiness: c.readinessProbe ?? null,
      liveness: c.livenessProbe ?? null,
      ports: (c.ports ?? []).map((p) => p.containerPort),
    };
  });
  plan.push({
    kind: o.kind,
    name: o.metadata.name,
    pod: podName,
    component: o.metadata.labels?.["app.kubernetes.io/component"] ?? "",
    fsGroup: sc.fsGroup ?? null,
    volumes,
    containers,
  });
}

const services = objects.filter((x) => x.kind === "Service").map((s) => s.metadata);
const hosts = new Set();
for (const s of services) hosts.add(`${s.name}.${s.namespace}.svc.cluster.local`);
for (const p of plan) {
  const sts = objects.find((x) => x.kind === "StatefulSet" && x.metadata.name === p.name);
  if (sts) hosts.add(`${p.pod}.${sts.spec.serviceName}.${sts.metadata.namespace}.svc.cluster.local`);
}
writeFileSync(join(outDir, "plan.json"), JSON.stringify({ plan, hosts: [...hosts].sort() }, null, 2));
console.log(`${plan.length} workloads, ${hosts.size} host names`);
