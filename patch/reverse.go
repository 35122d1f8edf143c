package patch

// Reverse returns the patch that undoes p: each file diff with its old and
// new sides swapped (a new file becomes a deletion and back), each hunk's
// deleted lines inserted and its inserted lines deleted, deletions first
// in every change block as diff writes them. The mail stays p's.
//
// The development corpus runs reversed (corpus reverse): each fix undone on
// the newer tree is another real change of the same shapes, the other way
// round (a member removed where the fix adds it).
func Reverse(p *Patch) *Patch {
	out := &Patch{Mail: p.Mail}
	for _, f := range p.Files {
		rf := &File{OldPath: f.NewPath, NewPath: f.OldPath}
		for _, h := range f.Hunks {
			rh := &Hunk{OldStart: h.NewStart, OldLines: h.NewLines, NewStart: h.OldStart, NewLines: h.OldLines, Section: h.Section}
			var del, ins []Line
			flush := func() {
				rh.Lines = append(append(rh.Lines, del...), ins...)
				del, ins = nil, nil
			}
			for _, l := range h.Lines {
				switch l.Op {
				case Insert:
					l.Op = Delete
					del = append(del, l)
				case Delete:
					l.Op = Insert
					ins = append(ins, l)
				default:
					flush()
					rh.Lines = append(rh.Lines, l)
				}
			}
			flush()
			rf.Hunks = append(rf.Hunks, rh)
		}
		out.Files = append(out.Files, rf)
	}
	return out
}
