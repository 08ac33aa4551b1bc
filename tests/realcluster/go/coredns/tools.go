//go:build tools

// Package tools pins the CoreDNS the real-cluster tests build.
package tools

import _ "github.com/coredns/coredns"
