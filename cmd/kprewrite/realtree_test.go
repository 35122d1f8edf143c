package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprewrite/kprewrite/internal/realkernel"
	"github.com/kprewrite/kprewrite/report"
)

// analyzeReal runs analyze on the real tree and decodes the JSON report.
func analyzeReal(t *testing.T, src, build, patchFile string) report.Patch {
	t.Helper()
	code, out, errs := kp(t, "analyze", "--format", "json", "--tree", src, "--config", filepath.Join(build, ".config"), patchFile)
	if code == exitBadInput {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(r.Patches) != 1 {
		t.Fatalf("%d patches", len(r.Patches))
	}
	return r.Patches[0]
}

func hasFinding(p report.Patch, file, kind, subjectPart string) bool {
	for _, f := range p.Findings {
		if f.File == file && f.Kind == kind && strings.Contains(f.Subject, subjectPart) {
			return true
		}
	}
	return false
}

func objectOf(p report.Patch, file string) (string, []string) {
	for _, o := range p.Objects {
		if o.File == file {
			return o.Object, o.Objects
		}
	}
	return "", nil
}

// TestAnalyzeRealTree runs analyze on patches written against Debian's
// linux-source-6.1 with the minimal livepatch config, and checks findings
// and the object mapping against what kbuild really builds.
func TestAnalyzeRealTree(t *testing.T) {
	src, build := realkernel.Tree(t)

	t.Run("bonding struct grows", func(t *testing.T) {
		pf := realkernel.NewEdits(t, src).
			Replace("include/net/bonding.h", "\tstruct rtnl_link_stats64 slave_stats;\n", "\tstruct rtnl_link_stats64 slave_stats;\n\tu32 enslave_seq;\n").
			Replace("drivers/net/bonding/bond_procfs.c", "\tseq_printf(seq, \"Slave queue ID: %d\\n\", slave->queue_id);\n",
				"\tseq_printf(seq, \"Slave queue ID: %d\\n\", slave->queue_id);\n\tseq_printf(seq, \"Enslave sequence: %u\\n\", slave->enslave_seq);\n").
			WritePatch("bonding: show the enslave sequence")
		p := analyzeReal(t, src, build, pf)
		if !hasFinding(p, "include/net/bonding.h", "struct-layout", "struct slave.enslave_seq") {
			t.Errorf("no struct-layout finding: %+v", p.Findings)
		}
		if o, _ := objectOf(p, "drivers/net/bonding/bond_procfs.c"); o != "bonding" {
			t.Errorf("bond_procfs.c -> %q, want bonding", o)
		}
		if o, _ := objectOf(p, "include/net/bonding.h"); o != "bonding" {
			t.Errorf("bonding.h -> %q, want bonding", o)
		}
	})

	t.Run("netdevice inline reaches vmlinux and modules", func(t *testing.T) {
		pf := realkernel.NewEdits(t, src).
			Replace("include/linux/netdevice.h", "\treturn info->dev;\n", "\treturn READ_ONCE(info->dev);\n").
			Replace("net/core/dev.c", "\tASSERT_RTNL();\n\tBUG_ON(!dev_net(dev));\n\n\tnet = dev_net(dev);\n",
				"\tASSERT_RTNL();\n\tBUG_ON(!dev_net(dev));\n\n\tnet = dev_net(dev);\n\tpr_warn_once(\"%s: renamed\\n\", newname);\n").
			WritePatch("net: read the notifier device once")
		p := analyzeReal(t, src, build, pf)
		if !hasFinding(p, "include/linux/netdevice.h", "header-inline", "netdev_notifier_info_to_dev") {
			t.Errorf("no header-inline finding: %+v", p.Findings)
		}
		if !hasFinding(p, "net/core/dev.c", "print-once", "pr_warn_once") {
			t.Errorf("no print-once finding: %+v", p.Findings)
		}
		if o, _ := objectOf(p, "net/core/dev.c"); o != "vmlinux" {
			t.Errorf("dev.c -> %q", o)
		}
		_, objs := objectOf(p, "include/linux/netdevice.h")
		set := map[string]bool{}
		for _, o := range objs {
			set[o] = true
		}
		for _, want := range []string{"vmlinux", "bonding", "dummy"} {
			if !set[want] {
				t.Errorf("netdevice.h objects %v lack %s", objs, want)
			}
		}
	})

	t.Run("static local, init code, lib", func(t *testing.T) {
		pf := realkernel.NewEdits(t, src).
			Replace("kernel/fork.c", "pid_t kernel_clone(struct kernel_clone_args *args)\n{\n", "pid_t kernel_clone(struct kernel_clone_args *args)\n{\n\tstatic unsigned long clones;\n").
			Replace("kernel/fork.c", "void __init fork_init(void)\n{\n\tint i;\n", "void __init fork_init(void)\n{\n\tint i;\n\n\tpr_info(\"fork: init\\n\");\n").
			Replace("lib/string.c", "size_t strlcpy(char *dest, const char *src, size_t size)\n{\n", "size_t strlcpy(char *dest, const char *src, size_t size)\n{\n\t/* checked */\n\tif (!dest)\n\t\treturn 0;\n").
			WritePatch("assorted hazards")
		p := analyzeReal(t, src, build, pf)
		for _, want := range []struct{ file, kind, subj string }{
			{"kernel/fork.c", "static-local", "kernel_clone::clones"},
			{"kernel/fork.c", "init-code", "fork_init"},
			{"lib/string.c", "not-livepatchable", "lib/string.c"},
		} {
			if !hasFinding(p, want.file, want.kind, want.subj) {
				t.Errorf("no %s finding for %s in %s: %+v", want.kind, want.subj, want.file, p.Findings)
			}
		}
		if o, _ := objectOf(p, "kernel/fork.c"); o != "vmlinux" {
			t.Errorf("fork.c -> %q", o)
		}
	})
}
