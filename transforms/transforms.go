// Package transforms lists kprewrite's transforms in the order the driver
// runs them.
package transforms

import (
	"github.com/kprewrite/kprewrite/rewrite"
	"github.com/kprewrite/kprewrite/rewrite/bitfield"
	"github.com/kprewrite/kprewrite/rewrite/comments"
	"github.com/kprewrite/kprewrite/rewrite/enums"
	"github.com/kprewrite/kprewrite/rewrite/exports"
	"github.com/kprewrite/kprewrite/rewrite/flagback"
	"github.com/kprewrite/kprewrite/rewrite/flagmask"
	"github.com/kprewrite/kprewrite/rewrite/header2c"
	"github.com/kprewrite/kprewrite/rewrite/hole"
	"github.com/kprewrite/kprewrite/rewrite/ifcond"
	"github.com/kprewrite/kprewrite/rewrite/keep"
	"github.com/kprewrite/kprewrite/rewrite/keepdecl"
	"github.com/kprewrite/kprewrite/rewrite/keepheader"
	"github.com/kprewrite/kprewrite/rewrite/moved"
	"github.com/kprewrite/kprewrite/rewrite/overlay"
	"github.com/kprewrite/kprewrite/rewrite/rcuhead"
	"github.com/kprewrite/kprewrite/rewrite/recode"
	"github.com/kprewrite/kprewrite/rewrite/rename"
	"github.com/kprewrite/kprewrite/rewrite/retype"
	"github.com/kprewrite/kprewrite/rewrite/samecode"
	"github.com/kprewrite/kprewrite/rewrite/shadow"
	"github.com/kprewrite/kprewrite/rewrite/statickey"
	"github.com/kprewrite/kprewrite/rewrite/structext"
	"github.com/kprewrite/kprewrite/rewrite/syscall"
)

// All returns the transforms in pipeline order: definitions moved unchanged
// between headers stay where they were first, a header the patch deletes
// stays whole, flags the patch only re-encodes keep the running kernel's
// encoding, header code moves into the
// .c files, a removed member whose state upstream moves into a flag
// bit stays and takes the patched code's operations on that bit (one
// whose state moves into a new enum member keeps it, through accessors), new
// enum constants go into the .c files too, struct changes the config makes a no-op are dropped,
// removed struct members go back into their struct, removed header macros,
// declarations, inlines and enums stay when nothing asks about them, members retyped only
// by qualifiers keep their old declaration, then
// new struct members are handled by the headless kfree_rcu (an rcu_head
// only kfree_rcu uses), spare bits, prefix
// extension, holes and shadow variables, in that order; a struct of which
// no object is made gets upstream's definition under a new name in the
// patched files that use it; changed system
// calls get the builder's replacement macro, jump labels and static calls
// on a module's key become plain reads of the key, new exports of new functions
// are dropped; a global function whose prototype changes (or a static
// one whose address the running kernel stores) gets a new name; a header change left to an engineer that the compiler
// proves changes no code is dropped; comment-only header changes
// are dropped last, from what the others left.
func All() []*rewrite.Transform {
	return []*rewrite.Transform{
		moved.Transform,
		keepheader.Transform,
		flagmask.Transform,
		header2c.Transform,
		flagback.Transform,
		recode.Transform,
		enums.Transform,
		ifcond.Transform,
		keep.Transform,
		keepdecl.Transform,
		retype.Transform,
		rcuhead.Transform,
		bitfield.Transform,
		structext.Transform,
		hole.Transform,
		shadow.Transform,
		overlay.Transform,
		syscall.Transform,
		statickey.Transform,
		exports.Transform,
		rename.Transform,
		samecode.Transform,
		comments.Transform,
	}
}

// Strategies returns the names of the member strategies in the order auto
// tries them: the values of --strategy besides "auto".
func Strategies() []string { return rewrite.Strategies(All()) }
