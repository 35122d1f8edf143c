package main

import (
	"debug/dwarf"
	"debug/elf"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/kprewrite/kprewrite/layout"
)

// dwarfStruct is one named struct or union that the DWARF of an object
// places in a header of the source tree.
type dwarfStruct struct {
	Kind    string   // "struct" or "union"
	Name    string   // tag
	Header  string   // path relative to the tree
	Line    int      // DW_AT_decl_line: the line of the keyword
	Members []string // member names in order, anonymous members flattened
	Object  string   // the first object (relative to the build) it was read from
	Unit    string   // the compilation unit's object there ("init/main.o"; "" when not a .c of the tree)
}

func (d *dwarfStruct) key() string { return d.Kind + " " + d.Name + " " + d.Header }

// pathMapper turns the file names of a line table into tree-relative paths.
type pathMapper struct {
	tree, build string // cleaned absolute paths
}

// rel returns the path of name relative to the source tree and whether it
// is a file of the tree at all (generated files in the build directory and
// files outside both are not).
func (p pathMapper) rel(name, compDir string) (string, bool) {
	if name == "" {
		return "", false
	}
	if !filepath.IsAbs(name) {
		if compDir == "" {
			compDir = p.build
		}
		name = filepath.Join(compDir, name)
	}
	name = filepath.Clean(name)
	if r, ok := under(name, p.tree); ok {
		return r, true
	}
	return "", false
}

func under(path, dir string) (string, bool) {
	if dir == "" || !strings.HasPrefix(path, dir+"/") {
		return "", false
	}
	return path[len(dir)+1:], true
}

// readObject appends to seen/out every header struct and union of one
// object file that is not there yet, keyed by (kind, tag, header).
func readObject(path, objName string, pm pathMapper, seen map[string]bool, out *[]*dwarfStruct) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return fmt.Errorf("%s: no DWARF (build with CONFIG_DEBUG_INFO): %v", path, err)
	}
	r := d.Reader()
	var files []string // tree-relative header paths by file index, "" when not one
	var compDir, unit string
	for {
		e, err := r.Next()
		if err != nil {
			return fmt.Errorf("%s: %v", path, err)
		}
		if e == nil {
			return nil
		}
		switch e.Tag {
		case dwarf.TagCompileUnit, dwarf.TagPartialUnit:
			compDir, _ = e.Val(dwarf.AttrCompDir).(string)
			unit = ""
			if name, _ := e.Val(dwarf.AttrName).(string); strings.HasSuffix(name, ".c") {
				if r, ok := pm.rel(name, compDir); ok {
					unit = strings.TrimSuffix(r, ".c") + ".o"
				}
			}
			files = nil
			lr, err := d.LineReader(e)
			if err != nil || lr == nil {
				continue
			}
			for _, lf := range lr.Files() {
				rel := ""
				if lf != nil && strings.HasSuffix(lf.Name, ".h") {
					if r, ok := pm.rel(lf.Name, compDir); ok {
						rel = r
					}
				}
				files = append(files, rel)
			}
			continue
		case dwarf.TagStructType, dwarf.TagUnionType:
		default:
			continue
		}
		kind, name, ok := layout.Aggregate(e)
		if !ok {
			continue
		}
		fi, ok := e.Val(dwarf.AttrDeclFile).(int64)
		if !ok || fi < 0 || int(fi) >= len(files) || files[fi] == "" {
			continue
		}
		ds := &dwarfStruct{Kind: kind, Name: name, Header: files[fi], Object: objName, Unit: unit}
		if seen[ds.key()] {
			continue
		}
		line, _ := e.Val(dwarf.AttrDeclLine).(int64)
		ds.Line = int(line)
		st, ok := layout.StructType(d, e)
		if !ok {
			continue
		}
		ds.Members = flattenDWARF(st, nil)
		seen[ds.key()] = true
		*out = append(*out, ds)
	}
}

// flattenDWARF appends the member names of st, with the members of unnamed
// struct and union members in their place.
func flattenDWARF(st *dwarf.StructType, out []string) []string {
	for _, f := range st.Field {
		if f.Name == "" {
			if ist, ok := layout.StripTypedefs(f.Type).(*dwarf.StructType); ok {
				out = flattenDWARF(ist, out)
			}
			continue
		}
		out = append(out, f.Name)
	}
	return out
}
