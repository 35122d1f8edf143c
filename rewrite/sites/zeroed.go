package sites

import (
	"fmt"
	"strings"

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
			if st.Fn == "" {
				good = append(good, st.String()+" (static storage)")
			} else {
				bad = append(bad, st.String()+" (an array on the stack or heap)")
			}
		default:
			bad = append(bad, fmt.Sprintf("%s (%s)", st, st.Unfit))
		}
	}
	if len(bad) > 0 {
		return ZeroProof{Refusal: "not every object starts zeroed, or the struct is copied: " + strings.Join(bad, "; ")}
	}
	if len(good) == 0 {
		return ZeroProof{Refusal: "the compiler found no place that creates the struct"}
	}
	return ZeroProof{Sites: strings.Join(good, ", ") + "; found by " + res.Method}
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
