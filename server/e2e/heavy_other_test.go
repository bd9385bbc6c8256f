//go:build !unix

package e2e

import "testing"

// holdHeavy does nothing where flock is missing: the tests run as on a
// machine with one test process.
func holdHeavy(*testing.T) {}
