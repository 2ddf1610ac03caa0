//go:build ignore

// Run by build.sh as `go run ./generate.go SRCDIR VERSION` in a scratch copy
// of this module: does what upstream's cmd/pulumi-resource-kubernetes/generate.go
// does (stamp the version into schema.json and compact both JSON files into
// the *-embed.json files main.go embeds), with the standard library only.
package main

import (
	"encoding/json"
	"log"
	"os"
	"path/filepath"
)

func compact(src string, version string, dst string) {
	data, err := os.ReadFile(src)
	if err != nil {
		log.Fatal(err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		log.Fatalf("cannot deserialize %s: %v", src, err)
	}
	if version != "" {
		v, _ := json.Marshal(version)
		doc["version"] = v
	}
	out, err := json.Marshal(doc)
	if err != nil {
		log.Fatalf("cannot reserialize %s: %v", src, err)
	}
	if err := os.WriteFile(dst, out, 0o600); err != nil {
		log.Fatal(err)
	}
}

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: go run ./generate.go SRCDIR VERSION")
	}
	src, version := os.Args[1], os.Args[2]
	compact(filepath.Join(src, "schema.json"), version, "schema-embed.json")
	compact(filepath.Join(src, "terraform-mapping.json"), "", "terraform-mapping-embed.json")
}
