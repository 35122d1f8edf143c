package ast

// Trace events: TRACE_EVENT(name, ..., TP_STRUCT__entry(fields), ...) in a
// trace header defines, through include/trace/trace_events.h, the record
// struct trace_event_raw_NAME and struct trace_event_data_offsets_NAME;
// FTRACE_ENTRY(name, struct_name, id, F_STRUCT(fields), print) in
// kernel/trace/trace_entries.h defines struct STRUCT_NAME. Their members are
// read from the field macros the way the kernel's stage headers expand them.

// eventMacros are the trace event macros that define a record struct, with
// the index of their TP_STRUCT__entry argument.
var eventMacros = map[string]int{
	"TRACE_EVENT": 3, "TRACE_EVENT_FN": 3, "DECLARE_EVENT_CLASS": 3,
	"TRACE_EVENT_CONDITION": 4, "TRACE_EVENT_FN_COND": 4,
}

// eventField says how a TP_STRUCT__entry field macro expands: which argument
// is the item, and whether it is a dynamic field (stored as a u32 location
// in the record: "__data_loc_" or "__rel_loc_" before the item's name, and
// named in the data offsets struct).
type eventField struct {
	item int
	loc  string // "" for a fixed field
}

// eventFields are include/trace/stages/stage1_struct_define.h's field macros.
var eventFields = map[string]eventField{
	"__field": {1, ""}, "__field_ext": {1, ""}, "__field_struct": {1, ""}, "__field_struct_ext": {1, ""},
	"__array":         {1, ""},
	"__dynamic_array": {1, "__data_loc_"}, "__string": {0, "__data_loc_"}, "__string_len": {0, "__data_loc_"},
	"__vstring": {0, "__data_loc_"}, "__bitmask": {0, "__data_loc_"}, "__cpumask": {0, "__data_loc_"},
	"__sockaddr":          {0, "__data_loc_"},
	"__rel_dynamic_array": {1, "__rel_loc_"}, "__rel_string": {0, "__rel_loc_"}, "__rel_string_len": {0, "__rel_loc_"},
	"__rel_bitmask": {0, "__rel_loc_"}, "__rel_cpumask": {0, "__rel_loc_"}, "__rel_sockaddr": {0, "__rel_loc_"},
}

// ftraceEntryMacros are kernel/trace/trace.h's FTRACE_ENTRY variants that
// define a struct (FTRACE_ENTRY_DUP does not).
var ftraceEntryMacros = map[string]bool{"FTRACE_ENTRY": true, "FTRACE_ENTRY_REG": true, "FTRACE_ENTRY_PACKED": true}

// ftraceFields are kernel/trace/trace.h's field macros: the item argument,
// -1 for those that declare nothing at the top level.
var ftraceFields = map[string]int{
	"__field": 1, "__field_fn": 1, "__field_packed": 1, "__field_struct": 1, "__array": 1,
	"__dynamic_array": 1, "__rel_dynamic_array": 1,
	"__field_desc": -1, "__field_desc_packed": -1, "__array_desc": -1,
}

// fieldCalls returns the NAME(args) calls at the top level of a field list
// ("__field(int, a) __string(name, n)"), with their arguments. An
// object-like macro of the file in the list stands for its body
// (FTRACE_CTX_FIELDS in kernel/trace/trace_entries.h).
func (f *File) fieldCalls(text string) (names []string, args [][]string) {
	var code []Token
	for _, t := range Tokenize([]byte(text)) {
		if t.Kind == Comment || t.Kind == Directive {
			continue
		}
		if m := f.Macro(t.Text); t.Kind == Ident && m != nil && !m.FuncLike {
			for _, b := range Tokenize([]byte(m.Body)) {
				if b.Kind != Comment {
					code = append(code, b)
				}
			}
			continue
		}
		code = append(code, t)
	}
	for k := 0; k+1 < len(code); k++ {
		if code[k].Kind != Ident || code[k+1].Text != "(" {
			continue
		}
		close := matchClose(code, k+1)
		names = append(names, code[k].Text)
		args = append(args, splitArgs(code[k+2:close]))
		k = close
	}
	return names, args
}

// unwrap returns the argument of a wrapper macro (TP_STRUCT__entry(x),
// F_STRUCT(x), PARAMS(x)), or s itself.
func unwrap(s string) string {
	for _, w := range []string{"TP_STRUCT__entry", "F_STRUCT", "PARAMS"} {
		if len(s) > len(w)+1 && s[:len(w)+1] == w+"(" && s[len(s)-1] == ')' {
			return s[len(w)+1 : len(s)-1]
		}
	}
	return s
}

// macroStructs adds the structs the file's trace event and ftrace entry
// invocations define to MacroStructs.
func (f *File) macroStructs() {
	for _, c := range f.Calls {
		mk := func(name string) *Struct {
			s := &Struct{Kind: "struct", Name: name, Span: c.Span, Cond: c.Cond, Macro: c.Name}
			f.MacroStructs = append(f.MacroStructs, s)
			return s
		}
		add := func(s *Struct, name, typ string) {
			s.Members = append(s.Members, &Member{Name: name, Type: typ, Decl: c.Span, Cond: c.Cond, Group: len(s.Members), Macro: c.Name})
		}
		if i, ok := eventMacros[c.Name]; ok && len(c.Args) > i && IsIdent(c.Args[0]) {
			raw := mk("trace_event_raw_" + c.Args[0])
			offs := mk("trace_event_data_offsets_" + c.Args[0])
			add(raw, "ent", "struct trace_entry")
			names, args := f.fieldCalls(unwrap(c.Args[i]))
			for k, n := range names {
				ef, ok := eventFields[n]
				if !ok || ef.item >= len(args[k]) {
					continue
				}
				item := args[k][ef.item]
				if ef.loc == "" {
					add(raw, item, args[k][0])
					continue
				}
				add(raw, ef.loc+item, "u32")
				add(offs, item, "u32")
			}
			add(raw, "__data", "char")
		}
		if ftraceEntryMacros[c.Name] && len(c.Args) > 3 && IsIdent(c.Args[1]) {
			s := mk(c.Args[1])
			add(s, "ent", "struct trace_entry")
			names, args := f.fieldCalls(unwrap(c.Args[3]))
			for k, n := range names {
				if i, ok := ftraceFields[n]; ok && i >= 0 && i < len(args[k]) {
					add(s, args[k][i], args[k][0])
				}
			}
		}
	}
}
