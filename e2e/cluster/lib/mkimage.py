#!/usr/bin/env python3
"""Write a docker-archive (`docker save` format, loadable by `docker load`,
`ctr images import` and `kind load image-archive`) from layer tarballs.

  mkimage.py --out FILE --tag REF [--tag REF...] --layer TAR [--layer TAR...]
             [--entrypoint JSON] [--cmd JSON] [--env K=V...] [--workdir DIR]
             [--user U] [--stop-signal SIG] [--label K=V...]

Layers are uncompressed tars, applied in the order given. No daemon needed.
"""
import argparse
import hashlib
import io
import json
import os
import tarfile


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--tag", action="append", required=True)
    p.add_argument("--layer", action="append", required=True)
    p.add_argument("--entrypoint")
    p.add_argument("--cmd")
    p.add_argument("--env", action="append", default=[])
    p.add_argument("--workdir")
    p.add_argument("--user")
    p.add_argument("--stop-signal")
    p.add_argument("--label", action="append", default=[])
    a = p.parse_args()

    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    for e in a.env:
        if e.startswith("PATH="):
            env[0] = e
        else:
            env.append(e)
    cfg = {"Env": env}
    if a.entrypoint:
        cfg["Entrypoint"] = json.loads(a.entrypoint)
    if a.cmd:
        cfg["Cmd"] = json.loads(a.cmd)
    if a.workdir:
        cfg["WorkingDir"] = a.workdir
    if a.user:
        cfg["User"] = a.user
    if a.stop_signal:
        cfg["StopSignal"] = a.stop_signal
    if a.label:
        cfg["Labels"] = dict(l.split("=", 1) for l in a.label)

    diff_ids = ["sha256:" + sha256_file(l) for l in a.layer]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "chstack e2e/cluster mkimage.py"}
                    for _ in a.layer],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer_names = [d.split(":", 1)[1] + "/layer.tar" for d in diff_ids]
    manifest = [{"Config": config_name, "RepoTags": a.tag, "Layers": layer_names}]

    def add_bytes(t, name, data):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        ti.mode = 0o644
        t.addfile(ti, io.BytesIO(data))

    tmp = a.out + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as t:
        seen = set()
        for lname, lpath in zip(layer_names, a.layer):
            if lname in seen:
                continue
            seen.add(lname)
            d = tarfile.TarInfo(os.path.dirname(lname))
            d.type = tarfile.DIRTYPE
            d.mode = 0o755
            t.addfile(d)
            t.add(lpath, arcname=lname, recursive=False,
                  filter=lambda ti: (setattr(ti, "mtime", 0) or setattr(ti, "uid", 0) or setattr(ti, "gid", 0)
                                     or setattr(ti, "uname", "") or setattr(ti, "gname", "") or ti))
        add_bytes(t, config_name, config_bytes)
        add_bytes(t, "manifest.json", json.dumps(manifest).encode())
    os.replace(tmp, a.out)
    print("sha256:" + hashlib.sha256(config_bytes).hexdigest())


if __name__ == "__main__":
    main()
