//go:build tools

// Package tools pins the main package this module builds: ctr, the containerd
// client that `kind load` and the node-image build run inside the node.
package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
