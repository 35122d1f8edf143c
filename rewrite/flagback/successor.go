package flagback

import (
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// Successor returns a constant the patch adds that takes over the state a
// removed member held, and where it is defined (" (enum X)", " (a new
// macro)"), or "". It is the new constant named after the member
// (PACKET_SOCK_RUNNING for running), or else the one new constant that
// every function losing its uses of the member gains
// (PACKET_SOCK_TX_HAS_OFF for tp_tx_has_off). Such a member's value in
// existing objects is state the patched code looks for elsewhere.
func Successor(p *rewrite.Pass, ch *change.Change) (string, string) {
	added := newConstants(p)
	up := strings.ToUpper(ch.Member)
	for _, c := range added {
		if c.name == up || strings.HasSuffix(c.name, "_"+up) {
			return c.name, c.where
		}
	}
	// the constants gained by the functions that lose the member (two at
	// least: one function's new names say little about one member)
	var common map[string]bool
	losing := 0
	for _, fc := range p.Changes {
		if fc.Pre == nil || fc.Post == nil {
			continue
		}
		for _, pre := range fc.Pre.Funcs {
			if !sites.UsesMember(fc.Pre, pre, ch.Member) {
				continue
			}
			post := fc.Post.Func(pre.Name)
			if post == nil || sites.UsesMember(fc.Post, post, ch.Member) {
				continue
			}
			losing++
			before := idents(fc.Pre, pre)
			gained := map[string]bool{}
			for n := range idents(fc.Post, post) {
				if !before[n] {
					gained[n] = true
				}
			}
			if common == nil {
				common = gained
				continue
			}
			for n := range common {
				if !gained[n] {
					delete(common, n)
				}
			}
		}
	}
	if losing < 2 {
		return "", ""
	}
	name, where := "", ""
	for _, c := range added {
		if common[c.name] {
			if name != "" {
				return "", "" // more than one: not a successor kprewrite can name
			}
			name, where = c.name, c.where
		}
	}
	if name != "" && !takesOver(p, ch.Member, name) {
		return "", ""
	}
	return name, where
}

// takesOver reports whether every function of the patched files that
// uses the constant used the member before (or is new): the constant
// takes over the member's uses, and nothing else.
func takesOver(p *rewrite.Pass, member, constant string) bool {
	for _, fc := range p.Changes {
		if fc.Post == nil {
			continue
		}
		for _, post := range fc.Post.Funcs {
			if !idents(fc.Post, post)[constant] || fc.Pre == nil {
				continue
			}
			if pre := fc.Pre.Func(post.Name); pre != nil && !sites.UsesMember(fc.Pre, pre, member) {
				return false
			}
		}
	}
	return true
}

type constant struct{ name, where string }

// newConstants lists the enum constants and object-like macros the patch
// adds, in the order of its files.
func newConstants(p *rewrite.Pass) []constant {
	var out []constant
	for _, fc := range p.Changes {
		for _, ch := range fc.Changes {
			switch ch.Kind {
			case change.EnumChanged, change.EnumAdded:
				old := map[string]bool{}
				if ch.PreEnum != nil {
					for _, v := range ch.PreEnum.Values {
						old[v.Name] = true
					}
				}
				for _, v := range ch.PostEnum.Values {
					if !old[v.Name] {
						out = append(out, constant{v.Name, " (enum " + ch.Name + ")"})
					}
				}
			case change.MacroAdded:
				if ch.PostMacro == nil || !ch.PostMacro.FuncLike {
					out = append(out, constant{ch.Name, " (a new macro)"})
				}
			}
		}
	}
	return out
}

// idents is the set of identifiers of fn.
func idents(f *ast.File, fn *ast.Func) map[string]bool {
	out := map[string]bool{}
	for _, t := range f.CodeTokens(fn.Span) {
		if t.Kind == ast.Ident {
			out[t.Text] = true
		}
	}
	return out
}
