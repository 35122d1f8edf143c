package ast

import "strings"

// Structs a macro of the same file defines: include/linux/seqlock.h's
//
//	#define SEQCOUNT_LOCKNAME(lockname, locktype, ...)	\
//	typedef struct seqcount_##lockname {			\
//		seqcount_t	seqcount;			\
//		__SEQ_LOCK(locktype	*lock);			\
//	} seqcount_##lockname##_t;				\
//	...
//	SEQCOUNT_LOCKNAME(raw_spinlock, raw_spinlock_t, false, ...)
//
// defines struct seqcount_raw_spinlock at the invocation. The invocation's
// expansion is read as a file of its own that knows the file's macros (a
// member macro such as __SEQ_LOCK, defined in two #if branches, declares
// its members under its branch's condition).

// definedStructs adds to MacroStructs the named structs and unions that
// the file-scope invocations of the file's own function-like macros
// define, for a macro the file defines once (one defined in several #if
// branches is left out: which one the invocation meets is the config's).
// Every span of such a struct and its members is the invocation.
func (f *File) definedStructs() {
	if len(f.Calls) == 0 {
		return
	}
	defs := map[string][]*Macro{}
	for _, m := range f.Macros {
		if !m.Undef {
			defs[m.Name] = append(defs[m.Name], m)
		}
	}
	for _, c := range f.Calls {
		if len(defs[c.Name]) != 1 {
			continue
		}
		def := defs[c.Name][0]
		if !def.FuncLike || !strings.Contains(def.Body, "struct") && !strings.Contains(def.Body, "union") {
			continue
		}
		if !def.takes(len(c.Args)) {
			continue
		}
		x := f.parseExpansion(f.Name+":"+c.Name, Expand(def, c.Args))
		for _, s := range x.Structs {
			if s.Parent != nil || s.Name == "" {
				continue
			}
			respan(s, c)
			s.Macro = c.Name
			f.MacroStructs = append(f.MacroStructs, s)
		}
	}
}

// parseExpansion reads a macro's expansion as a file that has the macros
// of f.
func (f *File) parseExpansion(name, text string) *File {
	x := &File{Name: name, Src: []byte(text), Lines: NewLines([]byte(text)), Macros: f.Macros}
	x.Tokens = Tokenize(x.Src)
	var code []Token
	for _, t := range x.Tokens {
		if t.Kind != Comment && t.Kind != Directive {
			code = append(code, t)
		}
	}
	x.scanTop(code)
	return x
}

// respan gives a struct read from an invocation's expansion, and its
// members, the invocation's span and condition.
func respan(s *Struct, c *MacroCall) {
	s.Span, s.Body = c.Span, c.Span
	s.Cond = c.Cond.And(s.Cond)
	for _, m := range s.Members {
		m.Decl = c.Span
		if m.NameAt != (Span{}) {
			m.NameAt = c.Span
		}
		m.Cond = c.Cond.And(m.Cond)
		if m.Nested != nil {
			respan(m.Nested, c)
		}
	}
}
