module github.com/kprewrite/kprewrite

go 1.26.8

require (
	github.com/google/go-cmp v0.7.0
	github.com/sourcegraph/go-diff v0.9.0
)
