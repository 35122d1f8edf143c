package e2e

import (
	"strings"
	"testing"
)

func TestKpatchFailureNamesTheSection(t *testing.T) {
	log := `fork.o: changed function: kernel_clone
ERROR: init_task.o: changed section .data..init_task not selected for inclusion
ERROR: init_task.o: 1 unsupported section change(s)
/root/.cache/kprewrite/kpatch/tool-x/kpatch-build/create-diff-object: unreconcilable difference
`
	out := `Extracting new and modified ELF sections
ERROR: init_task.o: changed section .data..init_task not selected for inclusion
ERROR: 1 error(s) encountered. Check /root/.cache/kprewrite/kpatch/kpatch-home/build.log for more details.
`
	got := kpatchFailure(out, log)
	want := "ERROR: init_task.o: changed section .data..init_task not selected for inclusion | ERROR: init_task.o: 1 unsupported section change(s)"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestKpatchFailureCompilerError(t *testing.T) {
	log := `kernel/fork.c: In function 'kernel_clone':
kernel/fork.c:2700:9: error: 'struct task_struct' has no member named 'newpid'
make[2]: *** [scripts/Makefile.build:250: kernel/fork.o] Error 1
`
	out := "Building patched source\nERROR: kpatch build failed. Check /x/build.log for more details.\n"
	got := kpatchFailure(out, log)
	want := "kernel/fork.c:2700:9: error: 'struct task_struct' has no member named 'newpid'"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestPrintBuilderTable(t *testing.T) {
	rows := []*row{
		{name: "hole", ran: true, pass: true, klpUpstream: "accepted", klpRewrite: "accepted", load: "ok", transition: "0",
			livepatched: "Enslave sequence: 0; Enslave sequence: 1", upstreamOut: "Enslave sequence: 0; Enslave sequence: 1",
			upstreamLP: "Enslave sequence: 3435973836; Enslave sequence: 1", unpatched: "no enslave sequence"},
		{name: "shadow", ran: true, klpUpstream: "refused: ERROR: a | b", klpRewrite: "accepted"},
		{name: "seed"},
	}
	var b strings.Builder
	printBuilderTable(&b, "kpatch-build", "Linux 6.1.176", rows)
	got := b.String()
	for _, want := range []string{
		"End-to-end proof on Linux 6.1.176: upstream patch -> kprewrite -> kpatch-build -> livepatch in QEMU",
		"[PASS] hole\n    kpatch-build on the upstream patch:   accepted\n",
		"[FAIL] shadow\n",
		"| case | kpatch-build, upstream patch | kpatch-build, rewritten patch | load / transition |",
		"| hole | accepted | accepted | ok / 0 | Enslave sequence: 0; Enslave sequence: 1 | Enslave sequence: 0; Enslave sequence: 1 | Enslave sequence: 3435973836; Enslave sequence: 1 |\n",
		`| shadow | refused: ERROR: a \| b | accepted | — | — | — | — |` + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("table lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "seed") {
		t.Errorf("a case that did not run is printed:\n%s", got)
	}
}
