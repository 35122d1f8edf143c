// Package recode is the transform for a flag member whose state upstream
// moves into a member of a new enum type: "atomic_t request_sent" (0: in
// sync, anything else: a request is out) becomes "enum ..._state state"
// (SYNCED, UNSYNCED and a new STOPPED). Objects that exist when the
// livepatch loads hold the state in the flag and never set the enum, so
// the enum's state stays where they hold it: the flag stays in the struct
// (the running kernel's layout), the enum member does not enter it, and
// the patched code reads and writes the state through accessors that
// translate it. The running kernel's code only ever asks the flag whether
// it is zero, so the getter reads 0 as the constant upstream gives the
// clear flag and any other value as the one it gives the set flag; a
// state the running kernel never records (STOPPED) is stored as a
// negative value, which its code never writes (it stores 0 and 1 and
// increments).
//
// Before (upstream):	-	atomic_t request_sent;
//
//   - enum batadv_bla_backbone_gw_state state;
//     if (backbone_gw->state == BATADV_BLA_BACKBONE_GW_SYNCED) {
//     backbone_gw->state = BATADV_BLA_BACKBONE_GW_UNSYNCED;
//
// After (rewritten):	the header keeps "atomic_t request_sent";
//
//	if (batadv_bla_backbone_gw_get_state(backbone_gw) == BATADV_BLA_BACKBONE_GW_SYNCED) {
//		batadv_bla_backbone_gw_set_state(backbone_gw, BATADV_BLA_BACKBONE_GW_UNSYNCED);
//
// The enum member takes over the flag's state when every function that
// loses the flag uses it. Which constant means which flag value is read
// from the patch: in each
// function that trades the flag for the enum, the flag's stores and
// tests are paired with the enum's, in order, when both have as many;
// every pair must agree, and both meanings must be named. The running
// kernel's uses of the flag must all be stores of 0 or 1, increments and
// tests for zero; anything else (a count, a comparison with 2) is no flag,
// and the member is left to the other transforms.
package recode

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/cexpr"
	"github.com/kprewrite/kprewrite/change"
	"github.com/kprewrite/kprewrite/edit"
	"github.com/kprewrite/kprewrite/hazard"
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/gen"
	"github.com/kprewrite/kprewrite/rewrite/member"
	"github.com/kprewrite/kprewrite/rewrite/sites"
)

// Transform is the recode transform.
var Transform = &rewrite.Transform{
	Name: "recode",
	Doc: "a flag member whose state upstream moves into a member of a new enum type stays in the struct; the patched code reads and writes the enum " +
		"through accessors that keep the state in the flag, so objects that exist when the livepatch loads keep theirs",
	Kinds: []hazard.Kind{hazard.StructLayout},
	Run:   run,
}

// flag is how a member the running kernel uses as a flag is read and
// written.
type flag struct {
	read  func(obj string) string // obj is a pointer expression
	write func(obj, v string) string
	typ   string // the C type of the value read
	wide  bool   // holds negative codes apart from the values its code writes
}

// flagOf returns how the removed member is accessed, or why it is no flag
// kprewrite can keep the state in.
func flagOf(m *ast.Member) (*flag, string) {
	if m.Bits != "" || len(m.Array) > 0 || m.Nested != nil || m.Macro != "" {
		return nil, "it is not a whole scalar member"
	}
	t := strings.Join(strings.Fields(m.Type), " ")
	name := m.Name
	if t == "atomic_t" {
		return &flag{
			read:  func(obj string) string { return "atomic_read(&" + obj + "->" + name + ")" },
			write: func(obj, v string) string { return "atomic_set(&" + obj + "->" + name + ", " + v + ")" },
			typ:   "int", wide: true,
		}, ""
	}
	size, ok := intSizes[t]
	if !ok {
		return nil, "its type " + t + " is neither atomic_t nor an integer type"
	}
	return &flag{
		read:  func(obj string) string { return "READ_ONCE(" + obj + "->" + name + ")" },
		write: func(obj, v string) string { return "WRITE_ONCE(" + obj + "->" + name + ", " + v + ")" },
		typ:   t, wide: size >= 4,
	}, ""
}

// intSizes are the integer types a flag may have, by size in bytes.
var intSizes = map[string]int{
	"bool": 1, "u8": 1, "s8": 1, "unsigned char": 1, "char": 1,
	"u16": 2, "s16": 2, "short": 2, "unsigned short": 2,
	"int": 4, "unsigned int": 4, "unsigned": 4, "u32": 4, "s32": 4,
	"long": 8, "unsigned long": 8, "u64": 8, "s64": 8,
}

// recoded is one flag whose state upstream moves into an enum member.
type recoded struct {
	removed, added *rewrite.Entry
	enum           *ast.Enum
	fl             *flag
	zero, set      string   // the constants the clear and the set flag mean
	others         []string // the constants the running kernel never records, stored as -1, -2, ...
	evidence       int      // pairs of uses that say so
	where          []string // the functions whose pairs say so
	restore        struct {
		needed      bool
		at          int
		text, where string
	}
}

func run(p *rewrite.Pass) error {
	var rs []*recoded
	for _, e := range p.Entries {
		ch := e.Change
		if e.ResolvedBy != "" || ch == nil || ch.Kind != change.MemberRemoved || ch.PreMember == nil || ch.PreStruct == nil || ch.PostStruct == nil {
			continue
		}
		r, why := find(p, e)
		if r == nil {
			if why != "" {
				p.Refuse(e, why)
			}
			continue
		}
		rs = append(rs, r)
	}
	for _, r := range rs {
		apply(p, r)
	}
	return nil
}

// successor returns the member the patch adds to the removed member's
// struct with the type of an enum it adds, when every function that
// loses the removed member uses it: the enum member takes over the
// flag's state. It returns nil when there is none, and why not when
// there are several.
func successor(p *rewrite.Pass, e *rewrite.Entry) (added *rewrite.Entry, enum *ast.Enum, why string) {
	ch := e.Change
	newEnums := map[string]*ast.Enum{}
	for _, fc := range p.Changes {
		for _, c := range fc.Changes {
			if c.Kind == change.EnumAdded && c.PostEnum != nil && c.PostEnum.Name != "" {
				newEnums[c.PostEnum.Name] = c.PostEnum
			}
		}
	}
	for _, o := range p.Entries {
		oc := o.Change
		if o.ResolvedBy != "" || oc == nil || oc.Kind != change.MemberAdded || o.File != e.File || oc.Struct != ch.Struct || oc.PostMember == nil {
			continue
		}
		m := oc.PostMember
		t := strings.Fields(m.Type)
		if len(t) != 2 || t[0] != "enum" || newEnums[t[1]] == nil || m.Bits != "" || len(m.Array) > 0 {
			continue
		}
		if !takesOver(p, ch.Member, oc.Member) {
			continue
		}
		if added != nil {
			return nil, nil, fmt.Sprintf("two new enum members (%s, %s) may take over its state", added.Change.Member, oc.Member)
		}
		added, enum = o, newEnums[t[1]]
	}
	return added, enum, ""
}

// takesOver reports whether every function of the patched files that
// loses its uses of the member flag uses the member state instead (one
// at least).
func takesOver(p *rewrite.Pass, flag, state string) bool {
	losing := 0
	for _, fc := range p.Changes {
		if fc.Pre == nil || fc.Post == nil {
			continue
		}
		for _, pre := range fc.Pre.Funcs {
			post := fc.Post.Func(pre.Name)
			if post == nil || !sites.UsesMember(fc.Pre, pre, flag) || sites.UsesMember(fc.Post, post, flag) {
				continue
			}
			if !sites.UsesMember(fc.Post, post, state) {
				return false
			}
			losing++
		}
	}
	return losing > 0
}

// find checks one removed member: the enum member the patch adds that
// takes over its state, its uses in the running kernel, and what the
// enum's constants mean. It returns nil and why not (or "" when the shape
// is not this transform's).
func find(p *rewrite.Pass, e *rewrite.Entry) (*recoded, string) {
	ch := e.Change
	added, enum, why := successor(p, e)
	if added == nil {
		return nil, why
	}
	r := &recoded{removed: e, added: added, enum: enum}
	name := enum.Name
	fl, why := flagOf(ch.PreMember)
	if why != "" {
		return nil, fmt.Sprintf("upstream moves its state to %s.%s (enum %s), but %s", ch.Struct, r.added.Change.Member, name, why)
	}
	r.fl = fl
	if why := r.oldUses(p); why != "" {
		return nil, fmt.Sprintf("upstream moves its state to %s.%s (enum %s), but the running kernel uses it as more than a flag: %s", ch.Struct, r.added.Change.Member, name, why)
	}
	if why := r.meanings(p); why != "" {
		return nil, fmt.Sprintf("upstream moves its state to %s.%s (enum %s), but which constant means which value of it is not clear: %s", ch.Struct, r.added.Change.Member, name, why)
	}
	for _, v := range r.enum.Values {
		if v.Name != r.zero && v.Name != r.set {
			r.others = append(r.others, v.Name)
		}
	}
	if len(r.others) > 0 && !fl.wide {
		return nil, fmt.Sprintf("%s (%s) has no room for %s apart from the values the running kernel's code stores", ch.Member, strings.TrimSpace(ch.PreMember.Type), strings.Join(r.others, ", "))
	}
	// the flag goes back into the struct, unless taking the enum member
	// out of the header puts its lines back already (one change block)
	key := ch.PostStruct.Kind + " " + ch.Struct
	reverted := member.RevertMember(p, &member.Member{Header: e.File, Key: key, Name: r.added.Change.Member}, p.File(e.File))
	if !member.Declares(reverted, &member.Member{Header: e.File, Key: key, Name: ch.Member}) {
		fc := p.ChangeOf(e.File)
		if fc == nil {
			return nil, ""
		}
		at, text, where, why := fc.Restore(ch, p.Parse(e.File))
		if why != "" {
			return nil, "the member cannot be put back: " + why
		}
		r.restore.needed, r.restore.at, r.restore.text, r.restore.where = true, at, text, where
	}
	return r, ""
}

// event is one use of the flag (before) or of the enum member (after).
type event struct {
	write bool
	// the flag: value "0", "1" or "++" for a store; zero for a test that
	// is true when the flag is clear. The enum member: value the constant
	// stored or compared with, zero for a test that is true when the
	// member is not that constant (!=).
	value string
	zero  bool
}

// oldUses checks that the running kernel's code uses the flag as a flag:
// stores of 0 and 1, increments, tests for zero.
func (r *recoded) oldUses(p *rewrite.Pass) string {
	name := r.removed.Change.Member
	for _, fc := range p.Changes {
		if fc.Pre == nil {
			continue
		}
		for _, fn := range fc.Pre.Funcs {
			if _, why := flagEvents(fc.Pre, fn, name); why != "" {
				return fmt.Sprintf("%s:%d in %s: %s", fc.Path, fc.Pre.Line(fn.Span.Off), fn.Name, why)
			}
		}
		// a macro's uses are its invocations', which are not read here
		for _, m := range fc.Pre.Macros {
			if sites.NamesMember(ast.Tokenize([]byte(m.Body)), name) {
				return fmt.Sprintf("%s:%d: the macro %s uses it", fc.Path, fc.Pre.Line(m.Span.Off), m.Name)
			}
		}
	}
	return ""
}

// flagEvents lists fn's uses of the flag member, in order, or says why
// one is not a flag's.
func flagEvents(f *ast.File, fn *ast.Func, name string) ([]event, string) {
	toks := f.CodeTokens(fn.Span)
	var out []event
	for i := 1; i < len(toks); i++ {
		if toks[i].Text != name || (toks[i-1].Text != "->" && toks[i-1].Text != ".") {
			continue
		}
		start := objectStart(toks, i-1)
		if start < 0 {
			return nil, fmt.Sprintf("line %d: the object whose %s is used is not a plain name", f.Line(toks[i].Off), name)
		}
		lo, hi := start, i // the expression that reads or writes the flag
		call := ""
		if open, arg, ok := sites.EnclosingParen(toks, start, 0); ok && open > 0 && toks[open-1].Kind == ast.Ident && !keywords[toks[open-1].Text] && arg == 0 {
			args, closeAt := sites.CallArgs(toks, open)
			var first [2]int
			if len(args) > 0 {
				first = args[0]
			}
			amp := len(args) > 0 && toks[first[0]].Text == "&"
			if len(args) > 0 && (first[0] == start || amp && first[0]+1 == start) && first[1] == i+1 {
				call = toks[open-1].Text
				switch {
				case amp && call == "atomic_read" || !amp && call == "READ_ONCE":
					lo, hi = open-1, closeAt
				case amp && call == "atomic_set" || !amp && call == "WRITE_ONCE":
					if len(args) != 2 {
						return nil, fmt.Sprintf("line %d: %s() without its value", f.Line(toks[i].Off), call)
					}
					v := tokText(toks[args[1][0]:args[1][1]])
					if v != "0" && v != "1" {
						return nil, fmt.Sprintf("line %d: it stores %s", f.Line(toks[i].Off), v)
					}
					out = append(out, event{write: true, value: v})
					continue
				case amp && call == "atomic_inc":
					out = append(out, event{write: true, value: "++"})
					continue
				default:
					return nil, fmt.Sprintf("line %d: %s() takes it", f.Line(toks[i].Off), call)
				}
			}
		}
		if call == "" && i+2 < len(toks) && toks[i+1].Text == "=" {
			v := ""
			if i+3 < len(toks) && toks[i+3].Text == ";" {
				v = toks[i+2].Text
			}
			switch v {
			case "0", "false":
				v = "0"
			case "1", "true":
				v = "1"
			default:
				return nil, fmt.Sprintf("line %d: it is assigned other than 0 or 1", f.Line(toks[i].Off))
			}
			out = append(out, event{write: true, value: v})
			continue
		}
		zero, ok := cexpr.Truth(toks, lo, hi)
		if !ok {
			return nil, fmt.Sprintf("line %d: its value is used other than as a test for zero", f.Line(toks[i].Off))
		}
		out = append(out, event{zero: zero})
	}
	return out, ""
}

// keywords open parentheses that are no call.
var keywords = map[string]bool{"if": true, "while": true, "for": true, "switch": true, "return": true, "sizeof": true, "likely": true, "unlikely": true}

// objectStart returns the index of the first token of the object
// expression before the '->' or '.' at arrow (a name, or a chain of
// members of one), or -1.
func objectStart(toks []ast.Token, arrow int) int {
	j := arrow - 1
	if j < 0 || toks[j].Kind != ast.Ident {
		return -1
	}
	for j >= 2 && (toks[j-1].Text == "->" || toks[j-1].Text == ".") && toks[j-2].Kind == ast.Ident {
		j -= 2
	}
	return j
}

// tokText joins tokens with single spaces.
func tokText(toks []ast.Token) string {
	var s []string
	for _, t := range toks {
		s = append(s, t.Text)
	}
	return strings.Join(s, " ")
}

// enumEvents lists fn's stores and tests of the enum member (obj->m = C,
// obj->m == C, obj->m != C, C == obj->m), in order. Other uses say
// nothing about the constants' meaning and are left out.
func enumEvents(f *ast.File, fn *ast.Func, name string, consts map[string]bool) []event {
	toks := f.CodeTokens(fn.Span)
	var out []event
	for i := 1; i < len(toks); i++ {
		if toks[i].Text != name || (toks[i-1].Text != "->" && toks[i-1].Text != ".") {
			continue
		}
		start := objectStart(toks, i-1)
		switch {
		case i+3 < len(toks) && toks[i+1].Text == "=" && consts[toks[i+2].Text] && toks[i+3].Text == ";":
			out = append(out, event{write: true, value: toks[i+2].Text})
		case i+2 < len(toks) && (toks[i+1].Text == "==" || toks[i+1].Text == "!=") && consts[toks[i+2].Text]:
			out = append(out, event{value: toks[i+2].Text, zero: toks[i+1].Text == "!="})
		case start > 1 && (toks[start-1].Text == "==" || toks[start-1].Text == "!=") && consts[toks[start-2].Text]:
			out = append(out, event{value: toks[start-2].Text, zero: toks[start-1].Text == "!="})
		}
	}
	return out
}

// meanings pairs the flag's uses with the enum member's in each function
// that trades one for the other, and sets zero and set.
func (r *recoded) meanings(p *rewrite.Pass) string {
	consts := map[string]bool{}
	for _, v := range r.enum.Values {
		consts[v.Name] = true
	}
	flagName, enumName := r.removed.Change.Member, r.added.Change.Member
	means := map[bool]map[string]bool{false: {}, true: {}} // flag clear? -> constants
	for _, fc := range p.Changes {
		if fc.Pre == nil || fc.Post == nil {
			continue
		}
		for _, pre := range fc.Pre.Funcs {
			post := fc.Post.Func(pre.Name)
			if post == nil {
				continue
			}
			before, why := flagEvents(fc.Pre, pre, flagName)
			if why != "" || len(before) == 0 {
				continue
			}
			after := enumEvents(fc.Post, post, enumName, consts)
			pairs := 0
			for _, write := range []bool{true, false} {
				b := slices.DeleteFunc(slices.Clone(before), func(e event) bool { return e.write != write })
				a := slices.DeleteFunc(slices.Clone(after), func(e event) bool { return e.write != write })
				if len(a) != len(b) {
					continue
				}
				for k := range b {
					clear := b[k].value == "0" // a store
					if !write {
						// "flag clear" is tested by b; the enum test holds
						// for a[k].value (==) or for every other (!=)
						clear = b[k].zero != a[k].zero
					}
					means[clear][a[k].value] = true
					pairs++
				}
			}
			if pairs > 0 {
				r.evidence += pairs
				r.where = append(r.where, pre.Name)
			}
		}
	}
	name := func(clear bool) (string, string) {
		var cs []string
		for c := range means[clear] {
			cs = append(cs, c)
		}
		slices.Sort(cs)
		switch len(cs) {
		case 1:
			return cs[0], ""
		case 0:
			return "", "no function of the patch shows it"
		}
		return "", "the patch gives it " + strings.Join(cs, " and ")
	}
	zero, why := name(true)
	if why != "" {
		return fmt.Sprintf("a clear %s: %s", flagName, why)
	}
	set, why := name(false)
	if why != "" {
		return fmt.Sprintf("a set %s: %s", flagName, why)
	}
	if zero == set {
		return fmt.Sprintf("%s stands for both a clear and a set %s", zero, flagName)
	}
	r.zero, r.set = zero, set
	return ""
}

// apply rewrites the enum member's uses through accessors and puts the
// flag back.
func apply(p *rewrite.Pass, r *recoded) {
	ch, ach := r.removed.Change, r.added.Change
	key := ach.PostStruct.Kind + " " + ach.Struct
	tag := member.TagOf(key)
	m := &member.Member{Entry: r.added, Change: ach, Header: r.added.File, Key: key, Name: ach.Member}
	m.Getter = p.UniqueName(tag + "_get_" + ach.Member)
	m.Setter = p.UniqueName(tag + "_set_" + ach.Member)
	m.Code = r.accessors(key, m.Getter, m.Setter)
	m.Check = func(file string, a *cexpr.Access) string {
		switch a.Kind {
		case cexpr.Read, cexpr.Assign:
			return ""
		}
		return fmt.Sprintf("%s:%d: the patched code %s the member (%s), which the accessors of its state do not take", file, a.Line, a.Kind, ach.Member)
	}
	applied, refused := member.Apply(p, []*member.Member{m})
	if why, ok := refused[m]; ok {
		p.Refuse(r.added, why)
		p.Refuse(r.removed, fmt.Sprintf("its state moves to %s, whose uses cannot go through accessors: %s", ach.Member, why))
		return
	}
	if len(applied) == 0 {
		return
	}
	if r.restore.needed {
		p.Edit(edit.Edit{File: r.removed.File, Off: r.restore.at, End: r.restore.at, Text: r.restore.text, Why: "member kept", Hazard: r.removed.Hazard})
	}
	codes := fmt.Sprintf("0 reads as %s and any other value as %s, as the running kernel's code reads it (it only tests it for zero)", r.zero, r.set)
	if len(r.others) > 0 {
		var cs []string
		for k, c := range r.others {
			cs = append(cs, fmt.Sprintf("%s as %d", c, -1-k))
		}
		codes += "; " + strings.Join(cs, ", ") + ", values the running kernel's code never stores (it stores 0 and 1 and increments); " +
			"its functions, still running during the transition or after the livepatch is disabled, read those as a set " + ch.Member
	}
	p.Resolve(r.removed, fmt.Sprintf("the member stays in %s %s: the state upstream moves to %s lives in it, where objects that exist when the livepatch loads hold it; %s",
		ch.PreStruct.Kind, ch.Struct, ach.Member, codes))
	p.Resolve(r.added, fmt.Sprintf("not added: its state is kept in %s, and %d uses in %s go through %s() and %s()",
		ch.Member, m.Uses, strings.Join(m.Files, ", "), m.Getter, m.Setter))
	p.Note(rewrite.Finding{File: r.removed.File, Line: r.removed.Line, Subject: key + "." + ach.Member,
		Reason: fmt.Sprintf("objects that exist when the livepatch loads keep their state: a clear %s means %s and a set one %s, as %d paired uses in the patched functions (%s) show", ch.Member, r.zero, r.set, r.evidence, strings.Join(r.where, ", "))})
}

// accessors returns the getter and setter that keep the enum's state in
// the flag.
func (r *recoded) accessors(key, getter, setter string) string {
	ach := r.added.Change
	enumType := "enum " + r.enum.Name
	var b strings.Builder
	b.WriteString(gen.Comment("", gen.Wrap(fmt.Sprintf("kprewrite: %s.%s lives in %s, where objects made before the livepatch hold it: 0 is %s, any other value %s.",
		key, ach.Member, r.removed.Change.Member, r.zero, r.set), 76)...))
	fmt.Fprintf(&b, "%s\n{\n\t%s v = %s;\n\n\tif (!v)\n\t\treturn %s;\n",
		signature("static inline "+enumType, getter, "const "+key+" *obj"), r.fl.typ, r.fl.read("obj"), r.zero)
	for k, c := range r.others {
		fmt.Fprintf(&b, "\tif (v == %d)\n\t\treturn %s;\n", -1-k, c)
	}
	fmt.Fprintf(&b, "\treturn %s;\n}\n\n", r.set)
	fmt.Fprintf(&b, "%s\n{\n\t%s v = 1;\n\n\tswitch (state) {\n\tcase %s:\n\t\tv = 0;\n\t\tbreak;\n",
		signature("static inline void", setter, key+" *obj", enumType+" state"), r.fl.typ, r.zero)
	for k, c := range r.others {
		fmt.Fprintf(&b, "\tcase %s:\n\t\tv = %d;\n\t\tbreak;\n", c, -1-k)
	}
	fmt.Fprintf(&b, "\tdefault:\n\t\tbreak;\n\t}\n\t%s;\n}\n", r.fl.write("obj", "v"))
	return b.String()
}

// signature renders a function's head within 100 columns, the way the
// kernel wraps them: the parameters aligned after the '(', or, when
// even that is too long, the name on a line of its own.
func signature(ret, name string, params ...string) string {
	one := ret + " " + name + "(" + strings.Join(params, ", ") + ")"
	if len(one) <= 100 {
		return one
	}
	head := ret + " " + name + "("
	if len(head)+len(params[0]) < 100 {
		indent := strings.Repeat("\t", len(head)/8) + strings.Repeat(" ", len(head)%8)
		return head + strings.Join(params, ",\n"+indent) + ")"
	}
	return ret + "\n" + name + "(" + strings.Join(params, ", ") + ")"
}
