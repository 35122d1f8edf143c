package kbuild

import (
	"runtime"
	"sort"
)

func sortStrings(s []string) { sort.Strings(s) }

func numCPU() int { return runtime.NumCPU() }

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
