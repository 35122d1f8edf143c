package verify

import (
	"strings"

	"github.com/kprewrite/kprewrite/patch"
)

// withPreservedLines applies patch.PreserveLines to every C file of a variant.
func withPreservedLines(base func(string) []byte, files map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for f, data := range files {
		if data != nil && (strings.HasSuffix(f, ".c") || strings.HasSuffix(f, ".h")) {
			out[f] = patch.PreserveLines(base(f), data)
		} else {
			out[f] = data
		}
	}
	return out
}
