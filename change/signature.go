package change

import (
	"slices"

	"github.com/kprewrite/kprewrite/ast"
)

// Signatures returns the signature of a changed function (fc holds both
// images of its file) or of a function-pointer member before and after
// the change.
func Signatures(fc *File, ch *Change) (pre, post ast.Signature, ok bool) {
	switch {
	case ch.PreMember != nil && ch.PostMember != nil:
		pre, ok1 := ast.ParseSignature(ch.PreMember.Type, ch.Member)
		post, ok2 := ast.ParseSignature(ch.PostMember.Type, ch.Member)
		return pre, post, ok1 && ok2
	case ch.PreFunc != nil && ch.PostFunc != nil && fc != nil && fc.Pre != nil && fc.Post != nil:
		pre, ok1 := ast.ParseSignature(fc.Pre.Text(ch.PreFunc.Header), ch.Func)
		post, ok2 := ast.ParseSignature(fc.Post.Text(ch.PostFunc.Header), ch.Func)
		return pre, post, ok1 && ok2
	}
	return ast.Signature{}, ast.Signature{}, false
}

// RetypedAlike reports whether the function change fn (in the file fc)
// changes its prototype as the member change m changes the member's
// signature, and only in pointer parameters: a function of fn's old
// prototype stored in the member before the change is one of the new
// prototype after it.
func RetypedAlike(fc *File, fn, m *Change) bool {
	fpre, fpost, ok1 := Signatures(fc, fn)
	mpre, mpost, ok2 := Signatures(nil, m)
	return ok1 && ok2 && ast.PointerRetyped(fpre, fpost) &&
		fpre.Return == mpre.Return && slices.Equal(fpre.Params, mpre.Params) &&
		fpost.Return == mpost.Return && slices.Equal(fpost.Params, mpost.Params)
}
