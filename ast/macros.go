package ast

import (
	"regexp"
	"slices"
	"strings"
)

// memberMacro says which argument of a member-declaring kernel macro names
// the member, and the names the compiler sees ("%s" stands for it); arg -1
// is an object-like macro whose members are always the same.
type memberMacro struct {
	arg   int
	names []string
}

// memberMacros are the kernel's macros that declare struct members and are
// defined in headers other than the ones that use them (a macro defined in
// the same file is expanded from its #define instead).
var memberMacros = map[string]memberMacro{
	"DECLARE_BITMAP":                   {0, []string{"%s"}},               // unsigned long name[BITS_TO_LONGS(bits)]
	"DECLARE_HASHTABLE":                {0, []string{"%s"}},               // struct hlist_head name[1 << (bits)]
	"DECLARE_KFIFO":                    {0, []string{"%s"}},               // STRUCT_KFIFO(type, size) fifo
	"DECLARE_KFIFO_PTR":                {0, []string{"%s"}},               // STRUCT_KFIFO_PTR(type) fifo
	"__ETHTOOL_DECLARE_LINK_MODE_MASK": {0, []string{"%s"}},               // DECLARE_BITMAP(name, ...)
	"DECLARE_PHY_INTERFACE_MASK":       {0, []string{"%s"}},               // DECLARE_BITMAP(name, ...)
	"CACHELINE_PADDING":                {0, []string{"%s"}},               // struct cacheline_padding name (CONFIG_SMP)
	"__bpf_md_ptr":                     {1, []string{"%s"}},               // union { type name; __u64 :64; }
	"DEFINE_SNMP_STAT":                 {1, []string{"%s"}},               // __typeof__(type) __percpu *name
	"DEFINE_SNMP_STAT_ATOMIC":          {1, []string{"%s"}},               // __typeof__(type) *name
	"DECLARE_FLEX_ARRAY":               {1, []string{"__empty_%s", "%s"}}, // struct { struct { } __empty_name; type name[]; }
	"__DECLARE_FLEX_ARRAY":             {1, []string{"__empty_%s", "%s"}}, // the same, in UAPI headers
	"NET_DEV_STAT":                     {0, []string{"%s", "__%s"}},       // union { unsigned long x; atomic_long_t __x; }
	"IP_TUNNEL_DECLARE_FLAGS":          {0, []string{"%s"}},               // DECLARE_BITMAP(name, __IP_TUNNEL_FLAG_NUM) (Linux 6.10 and later)
	// include/uapi/asm-generic/siginfo.h's object-like __SIGINFO: struct {
	// int si_signo; int si_errno; int si_code; union __sifields _sifields; },
	// all of struct kernel_siginfo in include/linux/signal_types.h (si_code
	// comes before si_errno where the architecture defines
	// __ARCH_HAS_SWAPPED_SIGINFO: mips)
	"__SIGINFO": {-1, []string{"si_signo", "si_errno", "si_code", "_sifields"}},
	// include/linux/cache.h (Linux 6.8 and later): zero-size markers of a
	// group of hot members (struct net_device, tcp_sock, ...)
	"__cacheline_group_begin":         {0, []string{"__cacheline_group_begin__%s"}},                            // __u8 name[0]
	"__cacheline_group_end":           {0, []string{"__cacheline_group_end__%s"}},                              // __u8 name[0]
	"__cacheline_group_begin_aligned": {0, []string{"__cacheline_group_begin__%s"}},                            // the same, aligned
	"__cacheline_group_end_aligned":   {0, []string{"__cacheline_group_end__%s", "__cacheline_group_pad__%s"}}, // and struct { } pad
}

// structGroups are the struct_group() family of include/linux/stddef.h:
// the indexes of the tag, the name and the first member argument (-1: no
// tag). __struct_group(TAG, NAME, ATTRS, MEMBERS...) is
//
//	union { struct { MEMBERS } ATTRS; struct TAG { MEMBERS } ATTRS NAME; }
var structGroups = map[string]struct{ tag, name, members int }{
	"struct_group":        {-1, 0, 1},
	"struct_group_attr":   {-1, 0, 2},
	"struct_group_tagged": {0, 1, 2},
	"__struct_group":      {0, 1, 3},
}

// ArgRanges returns the [start, end) token ranges of the top-level
// arguments of the call whose '(' is at open and ')' at close.
func ArgRanges(toks []Token, open, close int) [][2]int {
	var out [][2]int
	depth, start := 0, open+1
	for k := open + 1; k < close; k++ {
		t := toks[k]
		if isOpen(t) {
			depth++
		} else if isClose(t) {
			depth--
		} else if t.Text == "," && depth == 0 {
			out = append(out, [2]int{start, k})
			start = k + 1
		}
	}
	if start < close || len(out) > 0 {
		out = append(out, [2]int{start, close})
	}
	return out
}

// structGroup models a struct_group() member declaration as the union it
// expands to: an anonymous union of an anonymous (or tagged) struct holding
// the member declarations, read from the source like any other members, and
// the group's name. It returns nil when decl is no struct_group call.
func (f *File) structGroup(decl []Token, span Span, cond Cond, group int, comment string) []*Member {
	sg, ok := structGroups[decl[0].Text]
	if !ok {
		return nil
	}
	close := len(decl) - 1
	args := ArgRanges(decl, 1, close)
	if len(args) <= sg.name {
		return nil
	}
	arg := func(i int) []Token { return decl[args[i][0]:args[i][1]] }
	nameToks := arg(sg.name)
	if len(nameToks) != 1 || nameToks[0].Kind != Ident {
		return nil
	}
	tag := ""
	if sg.tag >= 0 {
		if t := arg(sg.tag); len(t) == 1 && t[0].Kind == Ident {
			tag = t[0].Text
		}
	}
	text := joinTokens(decl)
	m := &Member{Decl: span, Cond: cond, Group: group, Comment: comment, Macro: text, Type: decl[0].Text}
	wrap := &Struct{Kind: "union", Span: span, Body: span, Cond: cond, Parent: m}
	m.Nested = wrap
	f.Structs = append(f.Structs, wrap)
	inner := &Member{Decl: span, Cond: cond, Type: "struct {...}"}
	if tag != "" {
		inner.Type = "struct " + tag
	}
	grp := &Struct{Kind: "struct", Name: tag, Span: span, Cond: cond, Parent: inner}
	inner.Nested = grp
	var memToks []Token
	if len(args) > sg.members {
		memToks = decl[args[sg.members][0]:close]
	}
	grp.Body = Span{decl[close].Off, decl[close].Off}
	if len(memToks) > 0 {
		grp.Body = Span{memToks[0].Off, memToks[len(memToks)-1].End}
	}
	f.Structs = append(f.Structs, grp)
	grp.Members = f.members(memToks, grp)
	named := &Member{Name: nameToks[0].Text, NameAt: Span{nameToks[0].Off, nameToks[0].End}, Decl: span, Cond: cond,
		Type: inner.Type, Macro: text}
	wrap.Members = []*Member{inner, named}
	return []*Member{m}
}

// macroNames returns the members a macro-made member declaration declares
// (decl is NAME(args) or an object-like NAME), or nil when ast cannot tell:
// known kernel macros by the argument that names the member, macros
// defined in the same file by expanding their #define lines. A macro the file
// defines in several #if branches, one of which declares members and the
// others nothing (__SEQ_LOCK(expr) in include/linux/seqlock.h, "expr"
// under CONFIG_LOCKDEP and empty otherwise), declares them under that
// definition's condition: the terms to add to the member's are returned.
func (f *File) macroNames(decl []Token) ([]string, Cond) {
	name := decl[0].Text
	var args [][]Token
	if len(decl) > 1 {
		for _, r := range ArgRanges(decl, 1, len(decl)-1) {
			args = append(args, decl[r[0]:r[1]])
		}
	}
	if mm, ok := memberMacros[name]; ok && (mm.arg < 0) == (len(decl) == 1) {
		if mm.arg < 0 {
			// an object-like macro of another header with fixed members;
			// the header that defines it expands its own #define
			if len(f.macroDefs(name)) > 0 {
				return f.sameFileNames(name, len(decl) > 1, args)
			}
			return slices.Clone(mm.names), nil
		}
		if mm.arg >= len(args) || len(args[mm.arg]) != 1 || args[mm.arg][0].Kind != Ident {
			return nil, nil
		}
		var out []string
		for _, n := range mm.names {
			out = append(out, strings.ReplaceAll(n, "%s", args[mm.arg][0].Text))
		}
		return out, nil
	}
	return f.sameFileNames(name, len(decl) > 1, args)
}

// sameFileNames expands the file's own #define lines of name with args
// (funcLike: the use is NAME(args), not NAME).
func (f *File) sameFileNames(name string, funcLike bool, args [][]Token) ([]string, Cond) {
	defs := f.macroDefs(name)
	var declaring []*Macro
	var names []string
	for _, def := range defs {
		if def.FuncLike != funcLike {
			continue
		}
		if def.FuncLike && !def.takes(len(args)) {
			return nil, nil
		}
		body := expand(def, args)
		if strings.TrimSpace(body) == "" {
			continue // this branch declares nothing
		}
		n := expansionNames(f.Name+":"+name, body)
		if n == nil {
			return nil, nil
		}
		if len(declaring) > 0 {
			// branches that declare different members (HASH_LEN_DECLARE
			// in include/linux/dcache.h, by byte order): the first
			// #define's, as before the branches were told apart
			return names, nil
		}
		declaring = append(declaring, def)
		names = n
	}
	switch {
	case len(declaring) == 0:
		return nil, nil
	case len(declaring) == 1 && len(defs) > 1:
		for _, def := range defs {
			if def != declaring[0] && def.Cond.Equal(declaring[0].Cond) {
				return nil, nil // redefined, not in another #if branch
			}
		}
		for _, t := range declaring[0].Cond {
			if regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\b`).MatchString(t.Expr) {
				return names, nil // a self-guard (#ifndef NAME): defined at the use
			}
		}
		return names, declaring[0].Cond
	}
	return names, nil
}

// takes reports whether a function-like macro can be invoked with n
// arguments.
func (m *Macro) takes(n int) bool {
	return len(m.Params) == n || len(m.Params) > 0 && m.Params[len(m.Params)-1] == "..."
}

// macroDefs returns the #define lines of name in the file.
func (f *File) macroDefs(name string) []*Macro {
	var out []*Macro
	for _, m := range f.Macros {
		if m.Name == name && !m.Undef {
			out = append(out, m)
		}
	}
	return out
}

// expansionNames returns the members a macro's expansion declares, nil
// when it declares none or ast cannot name them. The expansion stands
// where a member declaration does, so it is read as one, with or without
// its own ';' (__SEQ_LOCK(locktype *lock); expands to "locktype *lock").
func expansionNames(name, body string) []string {
	x := Parse(name, []byte("struct __ast_expansion {\n"+body+"\n;\n};\n"))
	if len(x.Structs) == 0 {
		return nil
	}
	ms := x.Structs[0].Members
	if !strings.Contains(body, ";") && !strings.HasPrefix(body, "struct") && !strings.HasPrefix(body, "union") {
		// one declarator, or something else: calls of further macros
		// (I915_PARAMS_FOR_EACH(MEMBER)) or a bare name read as one would
		// name the member after the macro
		for _, m := range ms {
			if m.Name == "" || m.Type == "" || strings.Contains(m.Type, "(") {
				return nil
			}
		}
	}
	names := flatNames(ms)
	if len(names) == 0 {
		return nil
	}
	return names
}

// Expand returns the body of the function-like macro def with args (as
// written in an invocation) substituted for its parameters, with ##
// pasting and # stringizing; the result is not rescanned.
func Expand(def *Macro, args []string) string {
	toks := make([][]Token, len(args))
	for i, a := range args {
		toks[i] = Tokenize([]byte(a))
	}
	return expand(def, toks)
}

// expand substitutes the arguments into a macro's body, with ## pasting and
// # stringizing.
func expand(def *Macro, args [][]Token) string {
	param := map[string]string{}
	for i, p := range def.Params {
		switch {
		case p == "...":
			var rest []string
			for _, a := range args[min(i, len(args)):] {
				rest = append(rest, joinTokens(a))
			}
			param["__VA_ARGS__"] = strings.Join(rest, ", ")
		case i < len(args):
			param[p] = joinTokens(args[i])
		}
	}
	var out []string
	paste := false
	toks := Tokenize([]byte(def.Body))
	for k := 0; k < len(toks); k++ {
		t := toks[k].Text
		switch {
		case t == "##":
			paste = true
			continue
		case t == "#" && k+1 < len(toks) && param[toks[k+1].Text] != "":
			k++
			t = `"` + param[toks[k].Text] + `"`
		case toks[k].Kind == Ident:
			if v, ok := param[t]; ok {
				t = v
			}
		}
		if paste && len(out) > 0 {
			out[len(out)-1] += t
		} else {
			out = append(out, t)
		}
		paste = false
	}
	return strings.Join(out, " ")
}

// flatNames returns the names of members, those of anonymous nested
// aggregates and macro-made members in their place, or nil when a member's
// names are unknown.
func flatNames(ms []*Member) []string {
	out := []string{}
	for _, m := range ms {
		switch {
		case m.Nested != nil && m.Name == "":
			inner := flatNames(m.Nested.Members)
			if inner == nil {
				return nil
			}
			out = append(out, inner...)
		case m.Name != "":
			out = append(out, m.Name)
		case m.Macro != "":
			if m.Names == nil {
				return nil
			}
			out = append(out, m.Names...)
		}
	}
	return out
}
