// Wrapper for github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes.
//
// Upstream's main embeds schema-embed.json and terraform-mapping-embed.json,
// which `go generate` makes from schema.json / terraform-mapping.json and
// which are therefore not in the module zip. build.sh generates them (with
// the version stamped into the schema) in a scratch copy of this directory
// inside the cache before building; this file is otherwise upstream's main.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

var providerName = "kubernetes"

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve(providerName, version.Version, pulumiSchema, terraformMapping)
}
