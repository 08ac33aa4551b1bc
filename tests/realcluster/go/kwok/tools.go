//go:build tools

// Package tools pins the kwok commands the real-cluster tests build.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
	_ "sigs.k8s.io/kwok/cmd/kwokctl"
)
