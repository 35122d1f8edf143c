package shadow

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/member"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// A new pointer member that holds a reference (upstream takes one when it
// sets the member and drops it when the object goes: dev_hold and dev_put
// of a struct net_device *) has exactly one value that is right for an
// object created before the livepatch: NULL. Such an object took no
// reference through the member, so any other value would be put without
// having been held; with NULL, the kernel's NULL-safe hold and put do
// nothing, and the object behaves as one upstream made without the
// pointer. That is proven, not assumed, when every read of the member in
// the patched code either passes it to such a NULL-safe call or tests it
// for NULL before it dereferences it.

// refAcquireRE names the calls that take a reference.
var refAcquireRE = regexp.MustCompile(`^(dev_hold|netdev_hold|__dev_hold|of_node_get|fwnode_handle_get|get_device|kobject_get|\w+_hold|\w+_get)$`)

// nullSafeRefRE names the kernel's reference calls that do nothing when
// handed NULL (their definitions test the pointer first).
var nullSafeRefRE = regexp.MustCompile(`^(dev_hold|dev_put|netdev_hold|netdev_put|__dev_hold|__dev_put|of_node_get|of_node_put|fwnode_handle_get|fwnode_handle_put|get_device|put_device|kobject_get|kobject_put)$`)

// referenceHeld returns where the patched .c files pass the member name of
// m to a call that takes a reference ("dev_hold at net/netfilter/
// nf_queue.c:105"), or "".
func referenceHeld(p *rewrite.Pass, m *member.Member) string {
	var at []string
	for _, file := range p.CurrentSources() {
		f := p.Parse(file)
		toks := sites.CodeTokens(f)
		for i := 0; i+1 < len(toks); i++ {
			if toks[i].Kind != ast.Ident || !refAcquireRE.MatchString(toks[i].Text) || notReferenceRE.MatchString(toks[i].Text) || toks[i+1].Text != "(" {
				continue
			}
			close := ast.MatchForward(toks, i+1)
			if close >= i+4 && toks[close-1].Text == m.Name && (toks[close-2].Text == "->" || toks[close-2].Text == ".") {
				at = append(at, fmt.Sprintf("%s at %s:%d", toks[i].Text, file, f.Line(toks[i].Off)))
			}
		}
	}
	return strings.Join(at, ", ")
}

// nullTolerant says why a read of the member is safe when it is NULL, or
// "" when it is not shown to be.
func nullTolerant(f *ast.File, a *cexpr.Access) string {
	if call, ok := referenceCall(f, a); ok && a.Chained == "" && nullSafeRefRE.MatchString(call) {
		return call + "() does nothing with NULL"
	}
	toks := sites.CodeTokens(f)
	i := sites.TokenAt(toks, a.Full.Off)
	j := sites.TokenAt(toks, a.Full.End)
	if a.Chained == "" && j < len(toks) {
		switch toks[j].Text {
		case "&&", "||", "?":
			return "tested"
		case "==", "!=":
			if j+1 < len(toks) && toks[j+1].Text == "NULL" {
				return "tested"
			}
		case ")":
			if i >= 2 && toks[i-1].Text == "(" && (toks[i-2].Text == "if" || toks[i-2].Text == "while") {
				return "tested"
			}
		}
		if i >= 1 && toks[i-1].Text == "!" {
			return "tested"
		}
	}
	if a.Chained == "->" {
		// "obj->m && obj->m->x": dereferenced right after a test
		n := j - i
		// the test starts an operand: nothing before it that negates it
		// or makes it a member of something else
		starts := i-2-n < 0 || map[string]bool{"(": true, "&&": true, "return": true, "=": true, ",": true}[toks[i-2-n].Text]
		if i-1-n >= 0 && toks[i-1].Text == "&&" && starts {
			same := true
			for k := 0; k < n; k++ {
				if toks[i-1-n+k].Text != toks[i+k].Text {
					same = false
				}
			}
			if same {
				return "dereferenced after a test"
			}
		}
	}
	return ""
}

// refNullCheck sets the Check and Confirm of a member that holds a
// reference: every read must tolerate NULL, and one of the uses the
// compiler found (not only a member of the same name) must take a
// reference.
func refNullCheck(p *rewrite.Pass, m *member.Member) {
	held := 0
	m.Confirm = func() string {
		if held == 0 {
			return "no use of the member the compiler found takes a reference through it, so NULL is not shown to be what objects created before the livepatch must read"
		}
		return ""
	}
	m.Check = func(file string, a *cexpr.Access) string {
		switch a.Kind {
		case cexpr.Assign, cexpr.Designator, cexpr.SizeOf:
			return ""
		case cexpr.Read:
			f := p.Parse(file)
			if call, ok := referenceCall(f, a); ok && refAcquireRE.MatchString(call) && !notReferenceRE.MatchString(call) {
				held++
			}
			if nullTolerant(f, a) != "" {
				return ""
			}
			return fmt.Sprintf("objects created before the livepatch hold no reference through the member and read NULL, and %s:%d reads it without testing it for NULL", file, a.Line)
		}
		return fmt.Sprintf("%s:%d takes the member's %s", file, a.Line, a.Kind)
	}
}
