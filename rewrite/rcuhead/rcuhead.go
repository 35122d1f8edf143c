// Package rcuhead is the transform for a new struct rcu_head member whose
// only use is to free its object after an RCU grace period: the most common
// use-after-free fix, kfree(p) -> kfree_rcu(p, rcu). The member stays out of
// the struct and each kfree_rcu(p, rcu) becomes the headless
// kfree_rcu_mightsleep(p), which frees the same object after a grace period
// without an rcu_head inside it:
//
// Before (header):	struct rcu_head tcfa_rcu;	(the struct grows by 16 bytes)
// Before (.c):		kfree_rcu(p, tcfa_rcu);
// After (.c):		kfree_rcu_mightsleep(p);
//
// Objects created before the livepatch have no rcu_head and need none, and
// the layout does not change. The headless form queues the pointer in a
// page of pointers it allocates, and when that allocation fails it waits
// for the grace period itself (synchronize_rcu()) before freeing: so it may
// block, and is only used where the code may sleep (package sleep: the
// function or every caller of it sleeps, with no atomic section open).
// Where it may not, or where the member has any other use (call_rcu with a
// callback that gets back to the object through container_of), the member
// is left to the other strategies, and the report says why.
package rcuhead

import (
	"fmt"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/oracle"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/member"
	"github.com/kprewrite/kprewrite/rewrite/sleep"
)

// Transform is the rcuhead transform.
var Transform = &rewrite.Transform{
	Name:  "rcuhead",
	Doc:   "a new rcu_head used only by kfree_rcu(p, member) stays out of the struct: the call becomes the headless kfree_rcu_mightsleep(p) where the code may sleep",
	Kinds: []hazard.Kind{hazard.StructLayout},
	Member: &rewrite.MemberStrategy{
		Use:   "headless kfree_rcu_mightsleep",
		Takes: func(ch *change.Change) bool { return isRCUHead(ch.PostMember) },
	},
	Run: run,
}

// headless maps the two-argument macros to their headless forms.
var headless = map[string]string{
	"kfree_rcu":  "kfree_rcu_mightsleep",
	"kvfree_rcu": "kvfree_rcu_mightsleep",
}

func isRCUHead(m *ast.Member) bool {
	if m == nil || len(m.Array) > 0 || m.IsBitfield() || m.Macro != "" {
		return false
	}
	t := strings.Join(strings.Fields(m.Type), " ")
	return t == "struct rcu_head" || t == "struct callback_head"
}

func run(p *rewrite.Pass) error {
	cands := member.Candidates(p)
	if len(cands) == 0 {
		return nil
	}
	// the headless macros must exist in this tree under these names
	// (Linux 6.3, and the 6.1 stable series)
	if rcu := p.Parse("include/linux/rcupdate.h"); rcu.Macro("kfree_rcu_mightsleep") == nil || rcu.Macro("kvfree_rcu_mightsleep") == nil {
		for _, m := range cands {
			p.Refuse(m.Entry, "include/linux/rcupdate.h of this tree defines no kfree_rcu_mightsleep() or kvfree_rcu_mightsleep(): its headless form of kfree_rcu has another name, or none")
		}
		return nil
	}
	whys := map[*member.Member][]string{} // why each call may sleep, for the report
	var ok []*member.Member
	for _, m := range cands {
		m.Macro = expansion(p, m, whys)
		m.Check = func(file string, a *cexpr.Access) string {
			return fmt.Sprintf("%s:%d uses it directly (%s): the member would have to exist", file, a.Line, a.Kind)
		}
		ok = append(ok, m)
	}
	applied, refused := member.Apply(p, ok)
	for m, why := range refused {
		p.Refuse(m.Entry, why)
	}
	for _, m := range applied {
		uses := fmt.Sprintf("its %d uses (in %s) only free the object after a grace period, and become", m.Uses, strings.Join(m.Files, ", "))
		if m.Uses == 1 {
			uses = fmt.Sprintf("its use (in %s) only frees the object after a grace period, and becomes", m.Files[0])
		}
		p.Resolve(m.Entry, "kept out of the struct: "+uses+" the headless kfree_rcu_mightsleep(), which needs no rcu_head in the object")
		p.Note(rewrite.Finding{File: m.Header, Line: m.Entry.Line, Subject: m.Key + "." + m.Name,
			Reason: "the headless form may wait for a grace period (synchronize_rcu()) where it cannot allocate its page of pointers; each call is where the code may sleep: " + strings.Join(whys[m], "; ")})
	}
	return nil
}

// expansion is the member's Macro hook: a use inside kfree_rcu(obj,
// member) or kvfree_rcu(obj, member) invoked in a .c file where the code may
// sleep becomes the headless call.
func expansion(p *rewrite.Pass, m *member.Member, whys map[*member.Member][]string) func(u oracle.Use) ([]edit.Edit, string) {
	done := map[string]bool{} // the macro body names the member more than once
	return func(u oracle.Use) ([]edit.Edit, string) {
		x := u.Expansion
		if x == nil || change.IsHeader(x.File) {
			return nil, fmt.Sprintf("used in a header (%s:%d), not through a kfree_rcu() call of a .c file", u.File, u.Line)
		}
		where := fmt.Sprintf("%s:%d", x.File, x.Line)
		at := fmt.Sprintf("%s:%d", where, x.Col)
		if done[at] {
			return nil, ""
		}
		done[at] = true
		with, known := headless[x.Macro]
		if !known {
			return nil, fmt.Sprintf("%s uses it through %s(): only kfree_rcu(obj, %s) has a headless form that needs no rcu_head in the object", where, x.Macro, m.Name)
		}
		f := p.Parse(x.File)
		off := f.Lines.Start(x.Line) + x.Col - 1
		args, end, ok := callArgs(f, off, x.Macro)
		if !ok || len(args) != 2 || args[1] != m.Name {
			return nil, fmt.Sprintf("%s: %s() is not a call of the form %s(obj, %s)", where, x.Macro, x.Macro, m.Name)
		}
		for _, t := range ast.Tokenize([]byte(args[0])) {
			if t.Kind == ast.Ident && t.Text == m.Name {
				// kfree_rcu(container_of(h, struct s, rcu), rcu): another use in the call
				return nil, fmt.Sprintf("%s: the object of %s() names %s too", where, x.Macro, m.Name)
			}
		}
		v := sleep.At(f, off, p.IncludedHeaders(x.File)...)
		if !v.May {
			return nil, fmt.Sprintf("%s: the headless %s() may wait for a grace period, and the code there may not sleep (%s)", where, with, v.Why)
		}
		whys[m] = append(whys[m], where+": "+v.Why)
		return []edit.Edit{{File: x.File, Off: off, End: end, Text: with + "(" + args[0] + ")", Why: "headless kfree_rcu"}}, ""
	}
}

// callArgs reads the call of name at off: the source text of its
// top-level arguments and the offset after its closing parenthesis.
func callArgs(f *ast.File, off int, name string) ([]string, int, bool) {
	toks := f.CodeTokens(ast.Span{Off: off, End: len(f.Src)})
	if len(toks) < 3 || toks[0].Off != off || toks[0].Text != name || toks[1].Text != "(" {
		return nil, 0, false
	}
	end := ast.MatchForward(toks, 1)
	if end < 0 {
		return nil, 0, false
	}
	var args []string
	from := 2 // the first token of the current argument
	for k := 2; k <= end; k++ {
		switch toks[k].Text {
		case "(", "[", "{":
			if k = ast.MatchForward(toks, k); k < 0 {
				return nil, 0, false
			}
		case ",", ")":
			if k == from {
				args = append(args, "")
			} else {
				args = append(args, string(f.Src[toks[from].Off:toks[k-1].End]))
			}
			from = k + 1
		}
	}
	return args, toks[end].End, true
}
