package sites

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/ast"

	"github.com/kprewrite/kprewrite/rewrite"
)

// ZeroProof is what the creation sites of a struct say about its objects:
// the sites that prove every object starts zeroed, or why not.
type ZeroProof struct {
	Sites   string // the creation sites and how each zeroes (when proven)
	Refusal string // why not every object is proven zeroed ("" when proven)
}

// AllZeroed checks the creation sites of a struct (tag, defined in
// header): every object must start zeroed (static storage, a zeroing
// allocator, memset or an initializer) and none be copied, so that bytes
// and bits the running kernel's code never writes hold 0 in every object.
func AllZeroed(p *rewrite.Pass, header, tag string) ZeroProof {
	res, err := Find(p, header, tag)
	if err != nil {
		return ZeroProof{Refusal: "cannot prove every object starts zeroed: " + err.Error()}
	}
	var bad, good []string
	for _, st := range res.Sites {
		switch st.Kind {
		case Global:
			good = append(good, st.String()+" (static storage)")
		case Zeroing:
		case Stack, Heap:
			if !st.Zeroed {
				bad = append(bad, st.String()+" (not zeroed: "+zeroHint(st)+")")
			} else {
				how := st.Alloc
				if how == "" {
					how = "initialised"
				}
				good = append(good, fmt.Sprintf("%s in %s (%s)", st.String(), st.Fn, how))
			}
		case PDU, Private:
			// blk-mq payloads and private areas keep the old size, and a
			// hole is inside it
			if !st.Zeroed {
				bad = append(bad, fmt.Sprintf("%s (made by %s)", st, st.Alloc))
			} else {
				good = append(good, fmt.Sprintf("%s in %s (%s)", st, st.Fn, st.Alloc))
			}
		case Array:
			switch {
			case StaticStorage(p, st):
				good = append(good, st.String()+" (static storage)")
			case st.Fn == "":
				bad = append(bad, st.String()+" (an array member of a struct: made with its container)")
			default:
				bad = append(bad, st.String()+" (an array on the stack or heap)")
			}
		default:
			bad = append(bad, fmt.Sprintf("%s (%s)", st, st.Unfit))
		}
	}
	if len(bad) > 0 {
		return ZeroProof{Refusal: "not every object starts zeroed, or the struct is copied: " + strings.Join(bad, "; ")}
	}
	if why := changedCreation(p, res.Sites, tag); why != "" {
		return ZeroProof{Refusal: "cannot prove every object starts zeroed: " + why}
	}
	if len(good) == 0 {
		return ZeroProof{Refusal: "the compiler found no place that creates the struct"}
	}
	return ZeroProof{Sites: strings.Join(good, ", ") + "; found by " + res.Method}
}

// changedCreation says why the creation sites, found in the text as the
// patch leaves it, do not show how the running kernel made its objects:
// the patch changes a creating statement (kmalloc -> kzalloc upstream: the
// objects that exist were made by the kmalloc) or removes a line of the
// same file that allocates with a sizeof. "" when every site's statement
// is the running kernel's.
func changedCreation(p *rewrite.Pass, sts []*Site, tag string) string {
	files := map[string]bool{}
	for _, st := range sts {
		cur, ok := p.Current[st.File]
		if !ok || st.Kind == Global || st.Kind == Zeroing {
			continue
		}
		files[st.File] = true
		orig := p.Original(st.File)
		if st.Stmt != "" && !bytes.Equal(cur, orig) && !hasStatement(joinedCode(orig), st.Stmt) {
			return fmt.Sprintf("the patch changes how %s creates struct %s (%s): the objects that exist were made by the running kernel's code", st.File, tag, st.Stmt)
		}
	}
	for _, f := range slices.Sorted(maps.Keys(files)) {
		kept := map[string]int{}
		for _, l := range strings.Split(string(p.File(f)), "\n") {
			kept[strings.TrimSpace(l)]++
		}
		for i, l := range strings.Split(string(p.Original(f)), "\n") {
			l = strings.TrimSpace(l)
			if kept[l] > 0 {
				kept[l]--
				continue
			}
			if allocates(l) {
				return fmt.Sprintf("the patch removes or changes an allocation of %s (line %d: %s): objects made there before the livepatch are not judged", f, i+1, l)
			}
		}
	}
	return ""
}

// callRE finds the calls of a line.
var callRE = regexp.MustCompile(`\b(\w+)\s*\(`)

// allocates reports whether a line calls an allocator with a sizeof.
func allocates(line string) bool {
	if !strings.Contains(line, "sizeof") {
		return false
	}
	for _, m := range callRE.FindAllStringSubmatch(line, -1) {
		if allocRE.MatchString(m[1]) {
			return true
		}
	}
	return false
}

// hasStatement reports whether joined code holds stmt as a whole
// statement (after a boundary, before its ';').
func hasStatement(joined, stmt string) bool {
	for at := 0; ; {
		i := strings.Index(joined[at:], stmt+";")
		if i < 0 {
			return false
		}
		i += at
		if i == 0 || strings.ContainsAny(joined[i-1:i], " {};") {
			return true
		}
		at = i + 1
	}
}

// joinedCode is src's code tokens joined as Site.Stmt joins them.
func joinedCode(src []byte) string {
	return ast.JoinTokens(codeTokens(ast.Parse("x.c", src)))
}

func zeroHint(st *Site) string {
	if st.Kind == Heap {
		return st.Alloc + " without memset"
	}
	return "no initializer"
}

// Resets lists where a memset(p, 0, sizeof(*p)) clears an object of the
// struct outside the functions that create it: upstream that clears a new
// member too, which a value kept elsewhere (a shadow variable, bits
// holding it XOR a default) would miss. "file:line in fn" each.
func Resets(p *rewrite.Pass, header, tag string) ([]string, error) {
	res, err := Find(p, header, tag)
	if err != nil {
		return nil, err
	}
	creators := map[string]bool{}
	for _, st := range res.Sites {
		switch st.Kind {
		case Heap, Stack, Global, PDU, Private:
			creators[st.File+":"+st.Fn] = true
		}
	}
	var out []string
	for _, st := range res.Sites {
		if st.Kind == Zeroing && !creators[st.File+":"+st.Fn] {
			out = append(out, fmt.Sprintf("%s:%d in %s", st.File, st.Line, st.Fn))
		}
	}
	return out, nil
}
