package rewrite

import (
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/hazard"
)

// PrototypeChange returns the finding of the patch that changes the
// prototype of the function fn, or nil.
func (s *Session) PrototypeChange(fn string) *Entry {
	for _, e := range s.Entries {
		if e.Kind == hazard.Prototype && e.Change != nil && e.Change.Func == fn {
			return e
		}
	}
	return nil
}

// MemberRetypes returns the findings of the patch that retype a member
// named member (in any struct).
func (s *Session) MemberRetypes(member string) []*Entry {
	var out []*Entry
	for _, e := range s.Entries {
		if e.Change != nil && e.Change.Kind == change.MemberRetyped && e.Change.Member == member {
			out = append(out, e)
		}
	}
	return out
}
