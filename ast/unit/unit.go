// Package unit reads a gcc-preprocessed translation unit (gcc -E with the
// tree's exact kbuild flags) with modernc.org/cc/v4 and answers questions
// the raw source cannot: what a function holds once every macro is
// expanded. Its first use is static local data: pr_warn_once(),
// WARN_ONCE(), DO_ONCE(), DEFINE_RATELIMIT_STATE() and friends declare
// static variables inside macros, and a livepatch that adds or drops such
// data behaves differently from the patched kernel: a new static starts at
// its initializer when the livepatch loads, and a lost one cannot be
// correlated by the builder (the README's verify "statics" check).
//
// cc's own preprocessor cannot read arch/x86 headers and its type checker
// stops at the kernel's typeof uses, so the unit is preprocessed by gcc and
// only parsed by cc. Positions are mapped back to the original files
// through gcc's line markers.
package unit

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"modernc.org/cc/v4"
)

// Unit is one parsed translation unit.
type Unit struct {
	Funcs []*Func // function definitions, in source order
	lines lineMap
}

// Func is a function definition of the unit.
type Func struct {
	Name    string
	File    string // file the definition is written in (as gcc's line markers name it)
	Line    int
	Statics []Static // static locals, nested blocks and statement expressions included
}

// Static is a static local variable.
type Static struct {
	Name string
	Type string // declaration specifiers and declarator, as written after expansion
	// ReadOnly is set when the object itself is const (a table, not state).
	ReadOnly bool
	// Discarded is set when it is placed in a .discard section, which the
	// linker drops (__ADDRESSABLE() in static_call(), for one): no data
	// the running kernel has.
	Discarded bool
	File      string // where its declaration is (the line of the macro use when a macro made it)
	Line      int
}

// String renders the declaration and where it is.
func (s Static) String() string {
	return fmt.Sprintf("%s at %s:%d", s.Type, s.File, s.Line)
}

var (
	cfgOnce sync.Once
	cfg     *cc.Config
	cfgErr  error
)

func config() (*cc.Config, error) {
	cfgOnce.Do(func() {
		cfg, cfgErr = cc.NewConfig("linux", "amd64")
		if cfgErr == nil {
			cfg.FSOnly = true
		}
	})
	return cfg, cfgErr
}

// Parse parses preprocessed text. name is used in cc's error messages.
func Parse(name string, preprocessed []byte) (*Unit, error) {
	c, err := config()
	if err != nil {
		return nil, fmt.Errorf("cc: %v", err)
	}
	// gcc -E output has no directives left but line markers, which cc
	// accepts; the predefined macros are not needed after expansion, the
	// builtin declarations are (__builtin_va_list and friends).
	tree, err := cc.Parse(c, []cc.Source{{Name: "<predefined>", Value: c.Predefined}, {Name: "<builtin>", Value: cc.Builtin}, {Name: name, Value: preprocessed}})
	if err != nil {
		return nil, fmt.Errorf("cc.Parse %s: %v", name, err)
	}
	u := &Unit{lines: newLineMap(preprocessed)}
	for l := tree.TranslationUnit; l != nil; l = l.TranslationUnit {
		ed := l.ExternalDeclaration
		if ed == nil || ed.Case != cc.ExternalDeclarationFuncDef {
			continue
		}
		fd := ed.FunctionDefinition
		pos := fd.Position()
		if pos.Filename != name {
			continue // the <builtin> source
		}
		file, line := u.lines.at(pos.Line)
		f := &Func{Name: fd.Declarator.Name(), File: file, Line: line}
		walk(reflect.ValueOf(fd.CompoundStatement), func(d *cc.Declaration) {
			if !isStatic(d.DeclarationSpecifiers) || implicitName(d) {
				return
			}
			spec := tokensText(d.DeclarationSpecifiers)
			for il := d.InitDeclaratorList; il != nil; il = il.InitDeclaratorList {
				if il.InitDeclarator == nil || il.InitDeclarator.Declarator == nil {
					continue
				}
				decl := il.InitDeclarator.Declarator
				p := decl.Position()
				sf, sl := u.lines.at(p.Line)
				dt := tokensText(decl)
				f.Statics = append(f.Statics, Static{Name: decl.Name(), Type: spec + " " + dt, File: sf, Line: sl, ReadOnly: readOnly(spec, dt), Discarded: discarded(d)})
			}
		})
		u.Funcs = append(u.Funcs, f)
	}
	return u, nil
}

// readOnly reports whether the declared object is const: the specifiers
// say const and the declarator has no pointer, or const follows the
// declarator's last '*'.
func readOnly(spec, decl string) bool {
	if i := strings.LastIndex(decl, "*"); i >= 0 {
		return strings.HasPrefix(strings.TrimSpace(decl[i+1:]), "const ")
	}
	for _, w := range strings.Fields(spec) {
		if w == "const" {
			return true
		}
	}
	return false
}

// discarded reports whether the declaration places its objects in a
// .discard section (__attribute__((__section__(".discard.addressable")))).
func discarded(d *cc.Declaration) bool {
	for _, t := range cc.NodeTokens(d) {
		if strings.HasPrefix(t.SrcStr(), `".discard`) {
			return true
		}
	}
	return false
}

// implicitName reports cc's own declaration of __func__ in every function.
func implicitName(d *cc.Declaration) bool {
	l := d.InitDeclaratorList
	return l != nil && l.InitDeclaratorList == nil && l.InitDeclarator != nil && l.InitDeclarator.Declarator != nil &&
		l.InitDeclarator.Declarator.Name() == "__func__"
}

func isStatic(ds *cc.DeclarationSpecifiers) bool {
	for ; ds != nil; ds = ds.DeclarationSpecifiers {
		if ds.StorageClassSpecifier != nil && ds.StorageClassSpecifier.Case == cc.StorageClassSpecifierStatic {
			return true
		}
	}
	return false
}

// tokensText renders a node's tokens separated by single spaces, without
// attributes (__section(".data.once") and the like vary by version).
func tokensText(n cc.Node) string {
	var parts []string
	depth := 0
	toks := cc.NodeTokens(n)
	for i := 0; i < len(toks); i++ {
		s := toks[i].SrcStr()
		if depth == 0 && s == "__attribute__" {
			depth = -1 // skip until its parentheses close
			continue
		}
		if depth != 0 {
			switch s {
			case "(":
				if depth < 0 {
					depth = 0
				}
				depth++
			case ")":
				depth--
			}
			continue
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

var (
	declType = reflect.TypeOf((*cc.Declaration)(nil))
	nodeType = reflect.TypeOf((*cc.Node)(nil)).Elem()
)

// walk calls fn on every declaration under v, descending through the
// exported child nodes of cc's syntax tree.
func walk(v reflect.Value, fn func(*cc.Declaration)) {
	if v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return
	}
	if v.Type() == declType {
		fn(v.Interface().(*cc.Declaration))
	}
	s := v.Elem()
	t := s.Type()
	for i := 0; i < s.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		fv := s.Field(i)
		switch {
		case fv.Kind() == reflect.Pointer && fv.Type().Elem().Kind() == reflect.Struct && fv.Type().Implements(nodeType):
			walk(fv, fn)
		case fv.Kind() == reflect.Interface && fv.Type().Implements(nodeType):
			walk(fv, fn)
		}
	}
}

// lineMap maps lines of preprocessed text to the files and lines gcc's
// "# N "file" flags" markers name.
type lineMap struct {
	at1  []int    // .i line of each marker's next line
	file []string // marker's file
	line []int    // marker's line number
}

func newLineMap(src []byte) lineMap {
	var m lineMap
	n := 0
	for len(src) > 0 {
		n++
		var l []byte
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			l, src = src[:i], src[i+1:]
		} else {
			l, src = src, nil
		}
		if len(l) < 4 || l[0] != '#' || l[1] != ' ' {
			continue
		}
		f := strings.Fields(string(l[2:]))
		if len(f) < 2 {
			continue
		}
		num, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		name, err := strconv.Unquote(f[1])
		if err != nil {
			name = strings.Trim(f[1], `"`)
		}
		m.at1 = append(m.at1, n+1)
		m.file = append(m.file, name)
		m.line = append(m.line, num)
	}
	return m
}

// at maps a line of the preprocessed text.
func (m lineMap) at(l int) (string, int) {
	i := sort.Search(len(m.at1), func(i int) bool { return m.at1[i] > l }) - 1
	if i < 0 {
		return "", l
	}
	return m.file[i], m.line[i] + l - m.at1[i]
}
