// Package transforms lists kprewrite's transforms in the order the driver
// runs them.
package transforms

import "github.com/kprewrite/kprewrite/rewrite"

// All returns the transforms in pipeline order.
func All() []*rewrite.Transform {
	return nil
}
