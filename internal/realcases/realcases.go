// Package realcases defines kprewrite's cases on a real kernel tree
// (Debian's linux-source): for each, how to derive the base tree from the
// pristine one and the upstream-style patch on top of it. Edits are anchored
// on code, not line numbers, so the cases survive stable updates; a case
// whose anchor is missing fails loudly. Tests, the benchmark and the
// end-to-end harness all use these definitions.
package realcases

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kprewrite/kprewrite/patch"
)

// Case is one real-tree case.
type Case struct {
	Name    string
	Subject string
	Doc     string
	// Base edits the pristine tree into the base tree; nil when the
	// pristine tree is the base. When Upstream is nil, the upstream patch
	// is the base undone: the pristine tree already has the change.
	Base func(e *Editor)
	// Upstream edits the base into the upstream-patched tree.
	Upstream func(e *Editor)
	// Resolves are the transforms expected to resolve its hazards.
	Resolves []string
	// Structs are aggregates whose layout the rewrite must keep.
	Structs []string
	// Reports are texts the rewrite's report must contain (what existing
	// objects read, for instance).
	Reports []string
	// Refuses, when set, names findings the rewrite must leave to an
	// engineer, each with a text its refusal must contain: the rewrite
	// exits 1 and nothing is proven.
	Refuses map[string]string
}

// Editor edits files of a tree in memory.
type Editor struct {
	read  func(rel string) ([]byte, error)
	files map[string]string
	err   error
}

func (e *Editor) get(rel string) (string, bool) {
	if d, ok := e.files[rel]; ok {
		return d, true
	}
	d, err := e.read(rel)
	if err != nil {
		e.fail(fmt.Errorf("%s: %v", rel, err))
		return "", false
	}
	return string(d), true
}

func (e *Editor) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// Replace replaces the only occurrence of old in rel.
func (e *Editor) Replace(rel, old, new string) {
	d, ok := e.get(rel)
	if !ok {
		return
	}
	if n := strings.Count(d, old); n != 1 {
		e.fail(fmt.Errorf("%s: anchor %q found %d times, want once (has the tree changed?)", rel, firstLine(old), n))
		return
	}
	e.files[rel] = strings.Replace(d, old, new, 1)
}

// InsertAfterLine inserts text after the only line of rel that contains
// part (a line-level anchor, for code that differs between versions only
// in the rest of the line).
func (e *Editor) InsertAfterLine(rel, part, text string) {
	d, ok := e.get(rel)
	if !ok {
		return
	}
	if n := strings.Count(d, part); n != 1 {
		e.fail(fmt.Errorf("%s: anchor %q found %d times, want once (has the tree changed?)", rel, part, n))
		return
	}
	i := strings.Index(d, part)
	end := strings.IndexByte(d[i:], '\n')
	if end < 0 {
		end = len(d) - i
	}
	end += i + 1
	e.files[rel] = d[:end] + text + d[end:]
}

func firstLine(s string) string {
	if i := strings.IndexByte(strings.TrimLeft(s, "\n\t "), '\n'); i >= 0 {
		return strings.TrimLeft(s, "\n\t ")[:i]
	}
	return s
}

// Materialized is a case laid out on disk.
type Materialized struct {
	Tree  string // the base tree (the pristine tree itself, or a derived copy)
	Patch string // the upstream patch file
	Files []string
}

// Materialize lays a case out under work: the base tree (a hard-linked copy
// of src with the base edits written as new files, so src is never
// modified) and the upstream patch.
func (c *Case) Materialize(src, work string) (*Materialized, error) {
	m := &Materialized{Tree: src}
	readSrc := func(rel string) ([]byte, error) { return os.ReadFile(filepath.Join(src, rel)) }
	base := map[string]string{}
	if c.Base != nil {
		e := &Editor{read: readSrc, files: map[string]string{}}
		c.Base(e)
		if e.err != nil {
			return nil, fmt.Errorf("case %s: base: %v", c.Name, e.err)
		}
		base = e.files
		dir := filepath.Join(work, "tree")
		os.RemoveAll(dir)
		if out, err := exec.Command("cp", "-al", src, dir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("cp -al: %v: %s", err, out)
		}
		for rel, text := range base {
			p := filepath.Join(dir, rel)
			tmp := p + ".kprewrite-new"
			if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
				return nil, err
			}
			if err := os.Rename(tmp, p); err != nil { // replaces the link, not the shared file
				return nil, err
			}
		}
		m.Tree = dir
	}
	readBase := func(rel string) ([]byte, error) {
		if d, ok := base[rel]; ok {
			return []byte(d), nil
		}
		return readSrc(rel)
	}
	upstream := map[string]string{}
	if c.Upstream != nil {
		e := &Editor{read: readBase, files: map[string]string{}}
		c.Upstream(e)
		if e.err != nil {
			return nil, fmt.Errorf("case %s: upstream: %v", c.Name, e.err)
		}
		upstream = e.files
	} else {
		for rel := range base {
			d, err := readSrc(rel)
			if err != nil {
				return nil, err
			}
			upstream[rel] = string(d)
		}
	}
	p, err := c.patch(readBase, upstream)
	if err != nil {
		return nil, err
	}
	for _, f := range p.Files {
		m.Files = append(m.Files, f.Path())
	}
	if len(p.Files) == 0 {
		return nil, fmt.Errorf("case %s: the upstream patch is empty", c.Name)
	}
	m.Patch = filepath.Join(work, c.Name+".patch")
	if err := os.WriteFile(m.Patch, patch.Render(p, patch.RenderOptions{}), 0o644); err != nil {
		return nil, err
	}
	return m, nil
}

// patch is the upstream patch of c, as a mail: the diff of each file of
// files (path -> content), in path order, against what old reads.
func (c *Case) patch(old func(string) ([]byte, error), files map[string]string) (*patch.Patch, error) {
	p := &patch.Patch{Mail: &patch.Mail{
		FromLine: "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001",
		Headers:  []string{"From: kprewrite real-tree case <cases@kprewrite.invalid>", "Subject: [PATCH] " + c.Subject},
		Body:     c.Doc + "\n\nSigned-off-by: kprewrite real-tree case <cases@kprewrite.invalid>\n",
	}}
	for _, rel := range slices.Sorted(maps.Keys(files)) {
		o, err := old(rel)
		if err != nil {
			return nil, err
		}
		if d := patch.Diff(rel, o, []byte(files[rel])); d != nil {
			p.Files = append(p.Files, d)
		}
	}
	return p, nil
}

// countShows is the upstream change of the "hole" case and of the first
// step of the "shown" series: struct slave gains a counter of type typ
// that nothing assigns at creation, bond_info_seq_show() increments it
// and /proc/net/bonding prints it with format.
func countShows(e *Editor, typ, format string) {
	e.Replace("include/net/bonding.h", "\tstruct rtnl_link_stats64 slave_stats;\n};", "\tstruct rtnl_link_stats64 slave_stats;\n\t"+typ+" shown;\n};")
	e.InsertAfterLine("drivers/net/bonding/bond_procfs.c", "\"Slave queue ID: %d\\n\"",
		"\tseq_printf(seq, \"Times shown: "+format+"\\n\", slave->shown);\n")
	e.Replace("drivers/net/bonding/bond_procfs.c", "\t} else\n\t\tbond_info_show_slave(seq, v);\n",
		"\t} else {\n\t\tstruct slave *slave = v;\n\n\t\tslave->shown++;\n\t\tbond_info_show_slave(seq, slave);\n\t}\n")
}

// ByName returns the case with the given name. The first step of a series
// is found by its own name too: it applies to the pristine tree alone.
func ByName(name string) *Case {
	for _, c := range All {
		if c.Name == name {
			return c
		}
	}
	for _, s := range AllSeries {
		if c := s.Steps[0]; c.Name == name {
			return c
		}
	}
	return nil
}

// All is every real-tree case.
var All = []*Case{
	{
		Name:    "bitfield",
		Subject: "bonding: fix state transition issue in link monitoring",
		Doc: "The seed's bitfield: should_notify_link joins the u8 backup/inactive/rx_disabled/should_notify\n" +
			"group of struct slave and is read and written in header inlines of include/net/bonding.h\n" +
			"and in bond_main.c. The base tree is Debian's tree without it.",
		Base: func(e *Editor) {
			h := "include/net/bonding.h"
			e.Replace(h, "\t       should_notify:1, /* indicates whether the state changed */\n\t       should_notify_link:1; /* indicates whether the link changed */\n",
				"\t       should_notify:1; /* indicates whether the state changed */\n")
			e.Replace(h, "\t\tbond_lower_state_changed(slave);\n\t\tslave->should_notify_link = 0;\n\t} else {\n\t\tif (slave->should_notify_link)\n\t\t\tslave->should_notify_link = 0;\n\t\telse\n\t\t\tslave->should_notify_link = 1;\n\t}\n",
				"\t\tbond_lower_state_changed(slave);\n\t}\n")
			e.Replace(h, "static inline void bond_slave_link_notify(struct bonding *bond)\n{\n\tstruct list_head *iter;\n\tstruct slave *tmp;\n\n\tbond_for_each_slave(bond, tmp, iter) {\n\t\tif (tmp->should_notify_link) {\n\t\t\tbond_queue_slave_event(tmp);\n\t\t\tbond_lower_state_changed(tmp);\n\t\t\ttmp->should_notify_link = 0;\n\t\t}\n\t}\n}\n\n", "")
			m := "drivers/net/bonding/bond_main.c"
			e.Replace(m, "\t\tif (slave->should_notify || slave->should_notify_link) {\n", "\t\tif (slave->should_notify) {\n")
			e.Replace(m, "\t\tif (should_notify_rtnl) {\n\t\t\tbond_slave_state_notify(bond);\n\t\t\tbond_slave_link_notify(bond);\n\t\t}\n",
				"\t\tif (should_notify_rtnl)\n\t\t\tbond_slave_state_notify(bond);\n")
		},
		Resolves: []string{"header2c", "bitfield"},
		Structs:  []string{"struct slave"},
	},
	{
		Name:    "header2c",
		Subject: "net: tolerate notifications without info",
		Doc: "A changed static inline of include/linux/netdevice.h that files in vmlinux and in the\n" +
			"bonding module use: netdev_notifier_info_to_dev() gains a NULL check.",
		Upstream: func(e *Editor) {
			e.Replace("include/linux/netdevice.h", "netdev_notifier_info_to_dev(const struct netdev_notifier_info *info)\n{\n\treturn info->dev;\n}",
				"netdev_notifier_info_to_dev(const struct netdev_notifier_info *info)\n{\n\tif (unlikely(!info))\n\t\treturn NULL;\n\treturn info->dev;\n}")
		},
		Resolves: []string{"header2c"},
	},
	{
		Name:    "structext",
		Subject: "net: flush neighbours when NOARP changes",
		Doc: "The seed's notifier shape on a struct the minimal config builds readers of: struct\n" +
			"netdev_notifier_change_info is created on the stack in net/core/dev.c, handed on as\n" +
			"&change_info.info, and read by arp.c, addrconf.c and ndisc.c. The base tree lacks its\n" +
			"flags_changed member and the code that sets and reads it.",
		Base: func(e *Editor) {
			e.Replace("include/linux/netdevice.h", "struct netdev_notifier_change_info {\n\tstruct netdev_notifier_info info; /* must be first */\n\tunsigned int flags_changed;\n};",
				"struct netdev_notifier_change_info {\n\tstruct netdev_notifier_info info; /* must be first */\n};")
			e.Replace("net/core/dev.c", "\t\t\t.flags_changed = changes,\n", "")
			e.Replace("net/ipv4/arp.c", "\t\tchange_info = ptr;\n\t\tif (change_info->flags_changed & IFF_NOARP)\n\t\t\tneigh_changeaddr(&arp_tbl, dev);\n", "\t\tchange_info = ptr;\n")
			e.Replace("net/ipv6/addrconf.c", "\t\t\t\t\tchange_info = ptr;\n\t\t\t\t\tif (change_info->flags_changed & IFF_NOARP)\n\t\t\t\t\t\taddrconf_dad_run(idev, true);\n", "\t\t\t\t\tchange_info = ptr;\n")
			e.Replace("net/ipv6/ndisc.c", "\t\tchange_info = ptr;\n\t\tif (change_info->flags_changed & IFF_NOARP)\n\t\t\tneigh_changeaddr(&nd_tbl, dev);\n", "\t\tchange_info = ptr;\n")
		},
		Resolves: []string{"structext"},
		Structs:  []string{"struct netdev_notifier_change_info"},
	},
	{
		Name:    "hole",
		Subject: "bonding: count how often each slave is shown",
		Doc: "Appends u32 shown to the kzalloc'd struct slave; bond_info_seq_show() increments it and\n" +
			"prints it in /proc/net/bonding. Nothing assigns it at creation, so a slave enslaved before\n" +
			"the livepatch loads rightly starts at 0: the hole after delay holds it. The klp-build of the\n" +
			"upstream patch reads (and increments) the slab red zone past every such slave.",
		Upstream: func(e *Editor) { countShows(e, "u32", "%u") },
		Resolves: []string{"hole"},
		Reports:  []string{"0 is what upstream creation gives the member", "every read upstream makes is new code"},
		Structs:  []string{"struct slave"},
	},
	{
		Name:    "enslave-seq",
		Subject: "bonding: show the enslave sequence of each slave",
		Doc: "Appends u32 enslave_seq to the kzalloc'd struct slave, sets it in bond_enslave() and\n" +
			"prints it in /proc/net/bonding. The klp-build of this patch reads past the end of every\n" +
			"slave enslaved before the livepatch loaded.",
		Upstream: func(e *Editor) {
			e.Replace("include/net/bonding.h", "\tstruct rtnl_link_stats64 slave_stats;\n};", "\tstruct rtnl_link_stats64 slave_stats;\n\tu32 enslave_seq;\n};")
			e.Replace("drivers/net/bonding/bond_main.c", "\tnew_slave = bond_alloc_slave(bond, slave_dev);\n\tif (!new_slave) {\n\t\tres = -ENOMEM;\n\t\tgoto err_undo_flags;\n\t}\n",
				"\tnew_slave = bond_alloc_slave(bond, slave_dev);\n\tif (!new_slave) {\n\t\tres = -ENOMEM;\n\t\tgoto err_undo_flags;\n\t}\n\tnew_slave->enslave_seq = bond->slave_cnt;\n")
			e.InsertAfterLine("drivers/net/bonding/bond_procfs.c", "\"Slave queue ID: %d\\n\"",
				"\tseq_printf(seq, \"Enslave sequence: %u\\n\", slave->enslave_seq);\n")
		},
		// bond_enslave() gives each new slave bond->slave_cnt right after
		// bond_alloc_slave() creates it: a slave enslaved before the
		// livepatch loads would read 0 from the hole (or a shadow), not its
		// sequence, and no expression over the slave's own fields gives it
		Refuses: map[string]string{"struct slave.enslave_seq": "bond_enslave assigns enslave_seq = bond->slave_cnt at creation, and it reads bond, which is not a field of the object or a constant"},
		Structs: []string{"struct slave"},
	},
	{
		Name:    "bitfield-middle",
		Subject: "bonding: remember that a slave's link flapped",
		Doc: "Inserts u8 link_flapped:1 in the middle of struct slave's flag bits (after inactive),\n" +
			"as upstream often does, which moves rx_disabled, should_notify and should_notify_link by\n" +
			"one bit. The rewrite puts the bit into a spare bit of the same byte instead.",
		Upstream: func(e *Editor) {
			e.Replace("include/net/bonding.h", "\t       inactive:1, /* indicates inactive slave */\n",
				"\t       inactive:1, /* indicates inactive slave */\n\t       link_flapped:1, /* the link went down and up again */\n")
			e.Replace("drivers/net/bonding/bond_main.c", "\tnew_slave = bond_alloc_slave(bond, slave_dev);\n\tif (!new_slave) {\n\t\tres = -ENOMEM;\n\t\tgoto err_undo_flags;\n\t}\n",
				"\tnew_slave = bond_alloc_slave(bond, slave_dev);\n\tif (!new_slave) {\n\t\tres = -ENOMEM;\n\t\tgoto err_undo_flags;\n\t}\n\tnew_slave->link_flapped = 0;\n")
			e.InsertAfterLine("drivers/net/bonding/bond_procfs.c", "\"Slave queue ID: %d\\n\"",
				"\tseq_printf(seq, \"Link flapped: %d\\n\", slave->link_flapped);\n")
		},
		Resolves: []string{"bitfield"},
		Structs:  []string{"struct slave"},
	},
	{
		Name:    "keep",
		Subject: "bonding: restore the default MTU of a released slave",
		Doc: "A synthetic removal: struct slave loses original_mtu, and bond_enslave() and\n" +
			"__bond_release_one() stop using it. Removing the member moves every later member of\n" +
			"struct slave under the running kernel's slaves; the rewrite keeps it in the struct.",
		Upstream: func(e *Editor) {
			e.Replace("include/net/bonding.h", "\tu8     duplex;\n\tu32    original_mtu;\n", "\tu8     duplex;\n")
			e.Replace("drivers/net/bonding/bond_main.c", "\t/* Save slave's original mtu and then set it to match the bond */\n\tnew_slave->original_mtu = slave_dev->mtu;\n",
				"\t/* Set the slave's mtu to match the bond */\n")
			e.Replace("drivers/net/bonding/bond_main.c", "\tdev_set_mtu(slave_dev, new_slave->original_mtu);\n", "\tdev_set_mtu(slave_dev, ETH_DATA_LEN);\n")
			e.Replace("drivers/net/bonding/bond_main.c", "\t\t__dev_set_mtu(slave_dev, slave->original_mtu);\n\telse\n\t\tdev_set_mtu(slave_dev, slave->original_mtu);\n",
				"\t\t__dev_set_mtu(slave_dev, ETH_DATA_LEN);\n\telse\n\t\tdev_set_mtu(slave_dev, ETH_DATA_LEN);\n")
		},
		Resolves: []string{"keep"},
		Structs:  []string{"struct slave"},
	},
	{
		Name:    "flagback",
		Subject: "net/packet: keep the receive pressure in the socket flags",
		Doc: "A synthetic change in the shape of the 6.1 stable series' packet fixes, where po->running\n" +
			"and the has_vnet_hdr, tp_loss and tp_tx_has_off bitfields became bits of po->flags: int\n" +
			"pressure becomes bit PACKET_SOCK_PRESSURE, read and written with packet_sock_flag() and\n" +
			"packet_sock_flag_set(). Sockets that exist when the livepatch loads hold the state in\n" +
			"pressure; the rewrite keeps the member and sends the bit's operations to it.",
		Upstream: func(e *Editor) {
			e.Replace("net/packet/internal.h", "\tunsigned long\t\tflags;\n\tint\t\t\tpressure;\n", "\tunsigned long\t\tflags;\n")
			e.Replace("net/packet/internal.h", "\tPACKET_SOCK_RUNNING,\n};", "\tPACKET_SOCK_RUNNING,\n\tPACKET_SOCK_PRESSURE,\n};")
			e.Replace("net/packet/af_packet.c", "\tif (READ_ONCE(po->pressure) != pressure)\n\t\tWRITE_ONCE(po->pressure, pressure);\n",
				"\tif (packet_sock_flag(po, PACKET_SOCK_PRESSURE) != pressure)\n\t\tpacket_sock_flag_set(po, PACKET_SOCK_PRESSURE, pressure);\n")
			e.Replace("net/packet/af_packet.c", "\tif (READ_ONCE(po->pressure) &&\n\t    __packet_rcv_has_room(po, NULL) == ROOM_NORMAL)\n\t\tWRITE_ONCE(po->pressure,  0);\n",
				"\tif (packet_sock_flag(po, PACKET_SOCK_PRESSURE) &&\n\t    __packet_rcv_has_room(po, NULL) == ROOM_NORMAL)\n\t\tpacket_sock_flag_set(po, PACKET_SOCK_PRESSURE, 0);\n")
			e.Replace("net/packet/af_packet.c", "!READ_ONCE(po_next->pressure) &&", "!packet_sock_flag(po_next, PACKET_SOCK_PRESSURE) &&")
		},
		Resolves: []string{"flagback"},
		Structs:  []string{"struct packet_sock"},
		Reports:  []string{"objects that exist when the livepatch loads keep their state: they hold it in pressure"},
	},
	{
		Name:    "counter",
		Subject: "net/packet: make the receive pressure an atomic_t",
		Doc: "A synthetic change in the shape of a data race fix: int pressure, read and written with\n" +
			"READ_ONCE() and WRITE_ONCE() from several CPUs, becomes an atomic_t used with\n" +
			"atomic_read(), atomic_set() and atomic_cmpxchg(). The two types have the same size,\n" +
			"alignment and bits:\n" +
			"the rewrite keeps the int and makes every use the compiler finds a use of the same\n" +
			"storage as an atomic_t (through a cast of its address); sockets that exist when the\n" +
			"livepatch loads keep their state.",
		Upstream: func(e *Editor) {
			e.Replace("net/packet/internal.h", "\tint\t\t\tpressure;\n", "\tatomic_t\t\tpressure;\n")
			e.Replace("net/packet/af_packet.c", "\tif (READ_ONCE(po->pressure) != pressure)\n\t\tWRITE_ONCE(po->pressure, pressure);\n",
				"\tatomic_cmpxchg(&po->pressure, !pressure, pressure);\n")
			e.Replace("net/packet/af_packet.c", "\tif (READ_ONCE(po->pressure) &&\n\t    __packet_rcv_has_room(po, NULL) == ROOM_NORMAL)\n\t\tWRITE_ONCE(po->pressure,  0);\n",
				"\tif (atomic_read(&po->pressure) &&\n\t    __packet_rcv_has_room(po, NULL) == ROOM_NORMAL)\n\t\tatomic_set(&po->pressure, 0);\n")
			e.Replace("net/packet/af_packet.c", "!READ_ONCE(po_next->pressure) &&", "!atomic_read(&po_next->pressure) &&")
		},
		Resolves: []string{"retype"},
		Structs:  []string{"struct packet_sock"},
		Reports:  []string{"objects that exist when the livepatch loads hold their value as the new type reads it"},
	},
	{
		Name:    "value-first",
		Subject: "bonding: 3ad: report a partner whose key changes",
		Doc: "A synthetic change in the shape of a cached-copy check (svm-cached-cs in the corpus):\n" +
			"struct port gets a struct port_params by value, last_partner, written in ad_rx_machine()\n" +
			"under the state machine lock and read by a static helper the same case calls right after.\n" +
			"A pointer accessor could only allocate with GFP_ATOMIC there: the member is held by value\n" +
			"(reads copy it out of its shadow and allocate nothing), and every read follows the write on\n" +
			"every path, so ports that exist when the livepatch loads (and a shadow a freed slave left\n" +
			"behind) never reach a read before a write.",
		Upstream: func(e *Editor) {
			e.Replace("include/net/bond_3ad.h", "\tstruct port_params partner_oper;\n", "\tstruct port_params partner_oper;\n\tstruct port_params last_partner;\n")
			e.Replace("drivers/net/bonding/bond_3ad.c", "static void ad_rx_machine(struct lacpdu *lacpdu, struct port *port)\n{",
				"/* whether the partner's key changed with the LACPDU just recorded */\n"+
					"static bool __partner_key_changed(struct port *port)\n{\n"+
					"\treturn port->last_partner.key != port->partner_oper.key;\n}\n\n"+
					"static void ad_rx_machine(struct lacpdu *lacpdu, struct port *port)\n{")
			e.Replace("drivers/net/bonding/bond_3ad.c", "\t\t\t__update_ntt(lacpdu, port);\n\t\t\t__record_pdu(lacpdu, port);\n",
				"\t\t\t__update_ntt(lacpdu, port);\n\t\t\tport->last_partner = port->partner_oper;\n\t\t\t__record_pdu(lacpdu, port);\n"+
					"\t\t\tif (__partner_key_changed(port))\n\t\t\t\tslave_dbg(port->slave->bond->dev, port->slave->dev,\n"+
					"\t\t\t\t\t  \"partner key changed to %u\\n\", port->partner_oper.key);\n")
		},
		Resolves: []string{"shadow"},
		Structs:  []string{"struct port"},
		Reports:  []string{"the struct port_params is held by value", "the patched code writes the member before each read"},
	},
	{
		Name:    "widen",
		Subject: "bonding: count the usable slaves in an unsigned long",
		Doc: "A synthetic overflow fix: struct bond_up_slave's unsigned int count becomes an unsigned\n" +
			"long. In the running kernel's layout it is followed by 4 bytes of padding (the rcu_head\n" +
			"is 8-aligned), and every array is made by kzalloc(): the rewrite keeps the unsigned int and\n" +
			"makes every use the compiler finds (bond_main.c, bond_alb.c) a use of an unsigned long at\n" +
			"its address, which takes the padding; arrays that exist when the livepatch loads read\n" +
			"their count zero-extended.",
		Upstream: func(e *Editor) {
			e.Replace("include/net/bonding.h", "\tunsigned int\tcount;\n\tstruct rcu_head rcu;\n", "\tunsigned long\tcount;\n\tstruct rcu_head rcu;\n")
		},
		Resolves: []string{"retype"},
		Structs:  []string{"struct bond_up_slave"},
		Reports:  []string{"read their unsigned int value zero-extended to unsigned long"},
	},
	{
		Name:    "flagmask",
		Subject: "genetlink: Use internal flags for multicast groups",
		Doc: "The 6.1 stable series' genetlink change (upstream 4d54cc3211): the multicast groups get\n" +
			"their own flags, GENL_MCAST_CAP_NET_ADMIN in GENL_UNS_ADMIN_PERM's place and\n" +
			"GENL_MCAST_CAP_SYS_ADMIN for the cap_sys_admin bitfield, which the struct loses. The\n" +
			"families' group tables are const data registered long ago; the rewrite keeps the\n" +
			"running kernel's encoding in genl_bind(), which then compiles to the running kernel's.\n" +
			"The pristine tree has the change: the base is the tree with it undone.",
		Base: func(e *Editor) {
			h := "include/net/genetlink.h"
			e.Replace(h, "/* Binding to multicast group requires %CAP_NET_ADMIN */\n#define GENL_MCAST_CAP_NET_ADMIN\tBIT(0)\n/* Binding to multicast group requires %CAP_SYS_ADMIN */\n#define GENL_MCAST_CAP_SYS_ADMIN\tBIT(1)\n\n", "")
			e.Replace(h, " * @flags: GENL_MCAST_* flags\n", " * @flags: GENL_* flags (%GENL_ADMIN_PERM or %GENL_UNS_ADMIN_PERM)\n * @cap_sys_admin: whether %CAP_SYS_ADMIN is required for binding\n")
			e.Replace(h, "\tu8\t\t\tflags;\n};\n\nstruct genl_ops;", "\tu8\t\t\tflags;\n\tu8\t\t\tcap_sys_admin:1;\n};\n\nstruct genl_ops;")
			e.Replace("net/netlink/genetlink.c", "if ((grp->flags & GENL_MCAST_CAP_NET_ADMIN) &&", "if ((grp->flags & GENL_UNS_ADMIN_PERM) &&")
			e.Replace("net/netlink/genetlink.c", "if ((grp->flags & GENL_MCAST_CAP_SYS_ADMIN) &&", "if (grp->cap_sys_admin &&")
			e.Replace("net/core/drop_monitor.c", "{ .name = \"events\", .flags = GENL_MCAST_CAP_SYS_ADMIN, },", "{ .name = \"events\", .cap_sys_admin = 1 },")
			e.Replace("net/psample/psample.c", "\t\t\t\t      .flags = GENL_MCAST_CAP_NET_ADMIN, },", "\t\t\t\t      .flags = GENL_UNS_ADMIN_PERM },")
			e.Replace("net/mptcp/pm_netlink.c", "\t\t\t\t\t    .flags = GENL_MCAST_CAP_NET_ADMIN,\n", "\t\t\t\t\t    .flags = GENL_UNS_ADMIN_PERM,\n")
			e.Replace("fs/smb/client/netlink.c", "\t\t.flags = GENL_ADMIN_PERM,\n\t\t.validate", "\t\t.validate")
			e.Replace("fs/smb/client/netlink.c", "\t[CIFS_GENL_MCGRP_SWN] = {\n\t\t.name = CIFS_GENL_MCGRP_SWN_NAME,\n\t\t.flags = GENL_MCAST_CAP_NET_ADMIN,\n\t},\n",
				"\t[CIFS_GENL_MCGRP_SWN] = { .name = CIFS_GENL_MCGRP_SWN_NAME },\n")
		},
		Resolves: []string{"flagmask"},
		Structs:  []string{"struct genl_multicast_group"},
		Reports:  []string{"GENL_MCAST_CAP_NET_ADMIN takes GENL_UNS_ADMIN_PERM's place", "upstream moves its state into mask GENL_MCAST_CAP_SYS_ADMIN of flags"},
	},
	{
		Name:    "shadow",
		Subject: "fork: give each task a new pid number",
		Doc: "A naive version of kpatch's \"newpid\" example: int newpid in struct task_struct, set from\n" +
			"a counter in kernel_clone() and shown in /proc/PID/status.",
		Upstream: func(e *Editor) {
			e.Replace("include/linux/sched.h", "\tpid_t\t\t\t\tpid;\n\tpid_t\t\t\t\ttgid;\n", "\tpid_t\t\t\t\tpid;\n\tpid_t\t\t\t\ttgid;\n\tint\t\t\t\tnewpid;\n")
			e.Replace("kernel/fork.c", "pid_t kernel_clone(struct kernel_clone_args *args)\n{", "static atomic_t newpid_counter = ATOMIC_INIT(0);\n\npid_t kernel_clone(struct kernel_clone_args *args)\n{")
			e.Replace("kernel/fork.c", "\tp = copy_process(NULL, trace, NUMA_NO_NODE, args);\n\tadd_latent_entropy();\n\n\tif (IS_ERR(p))\n\t\treturn PTR_ERR(p);\n",
				"\tp = copy_process(NULL, trace, NUMA_NO_NODE, args);\n\tadd_latent_entropy();\n\n\tif (IS_ERR(p))\n\t\treturn PTR_ERR(p);\n\n\tp->newpid = atomic_inc_return(&newpid_counter);\n")
			e.Replace("fs/proc/array.c", "\ttask_state(m, ns, pid, task);\n", "\ttask_state(m, ns, pid, task);\n\tseq_printf(m, \"newpid:\\t%d\\n\", task->newpid);\n")
		},
		// kernel_clone() numbers each new task; a task created before the
		// livepatch loads (init, for one) would read 0, and struct
		// task_struct's creation sites (an embedded init task, a kmem_cache
		// sized at run time) say nothing of the member: an engineer decides
		Refuses: map[string]string{"struct task_struct.newpid": "objects created before the livepatch would read 0 at fs/proc/array.c"},
		Structs: []string{"struct task_struct"},
	},
	{
		Name:    "lock",
		Subject: "bonding: serialise and count the folding of slave statistics",
		Doc: "A lock added to a live object: struct slave gains spinlock_t fold_lock, initialised in\n" +
			"bond_alloc_slave() and taken where bond_get_stats() folds a slave's counters (and counts\n" +
			"the folds, shown in /proc/net/bonding) and where bond_enslave() reads them first. Slaves\n" +
			"enslaved before the livepatch loads have no such lock; a shadow allocated with GFP_ATOMIC\n" +
			"could fail and leave a NULL lock.",
		Upstream: func(e *Editor) {
			e.Replace("include/net/bonding.h", "\tstruct rtnl_link_stats64 slave_stats;\n};",
				"\tstruct rtnl_link_stats64 slave_stats;\n\tspinlock_t fold_lock; /* protects slave_stats and folds */\n\tu32 folds;\n};")
			e.InsertAfterLine("drivers/net/bonding/bond_procfs.c", "\"Slave queue ID: %d\\n\"",
				"\tseq_printf(seq, \"Stats folds: %u\\n\", READ_ONCE(slave->folds));\n")
			m := "drivers/net/bonding/bond_main.c"
			e.Replace(m, "\tslave->bond = bond;\n\tslave->dev = slave_dev;\n", "\tslave->bond = bond;\n\tslave->dev = slave_dev;\n\tspin_lock_init(&slave->fold_lock);\n")
			e.Replace(m, "\tdev_get_stats(new_slave->dev, &new_slave->slave_stats);\n",
				"\tspin_lock_bh(&new_slave->fold_lock);\n\tdev_get_stats(new_slave->dev, &new_slave->slave_stats);\n\tspin_unlock_bh(&new_slave->fold_lock);\n")
			e.Replace(m, "\t\tbond_fold_stats(stats, new, &slave->slave_stats);\n\n\t\t/* save off the slave stats for the next run */\n\t\tmemcpy(&slave->slave_stats, new, sizeof(*new));\n",
				"\t\tspin_lock(&slave->fold_lock);\n\t\tbond_fold_stats(stats, new, &slave->slave_stats);\n\n\t\t/* save off the slave stats for the next run */\n\t\tmemcpy(&slave->slave_stats, new, sizeof(*new));\n\t\tslave->folds++;\n\t\tspin_unlock(&slave->fold_lock);\n")
		},
		Resolves: []string{"shadow", "hole"},
		Structs:  []string{"struct slave"},
		Reports:  []string{"kept in a static table of 256 locks", "nothing is allocated: the lock is never NULL", "0 is what upstream creation gives the member"},
	},
	{
		Name:    "slave-ifindex",
		Subject: "bonding: show the interface index each slave was enslaved with",
		Doc: "struct slave gains int enslaved_ifindex, set in bond_alloc_slave() from the slave device\n" +
			"it was just given (slave->dev = slave_dev) and shown in /proc/net/bonding: the\n" +
			"inet_peer-hash shape on bonding, a member whose creation value is computed. A slave\n" +
			"enslaved before the livepatch loads would read 0 where an upstream-built kernel shows its\n" +
			"index; the value is computed from the slave's own dev field instead.",
		Upstream: func(e *Editor) {
			e.Replace("include/net/bonding.h", "\tstruct rtnl_link_stats64 slave_stats;\n};",
				"\tstruct rtnl_link_stats64 slave_stats;\n\tint enslaved_ifindex; /* slave_dev->ifindex at enslave time */\n};")
			e.Replace("drivers/net/bonding/bond_main.c", "\tslave->bond = bond;\n\tslave->dev = slave_dev;\n",
				"\tslave->bond = bond;\n\tslave->dev = slave_dev;\n\tslave->enslaved_ifindex = slave_dev->ifindex;\n")
			e.InsertAfterLine("drivers/net/bonding/bond_procfs.c", "\"Slave queue ID: %d\\n\"",
				"\tseq_printf(seq, \"Enslaved ifindex: %d\\n\", slave->enslaved_ifindex);\n")
		},
		Resolves: []string{"shadow"},
		Structs:  []string{"struct slave"},
		Reports:  []string{"computes s->dev->ifindex from the object"},
	},
	{
		Name:    "slave-wq",
		Subject: "bonding: queue slave events on the workqueue the slave was enslaved with",
		Doc: "struct slave gains struct workqueue_struct *wq, set in bond_enslave() from the bond's\n" +
			"workqueue, and bond_queue_slave_event() queues on it where it used slave->bond->wq: the\n" +
			"f2fs dic->sbi shape (a fix caches what the old code reached through the object). The\n" +
			"creation value reads a local (not known for slaves enslaved before the livepatch); the\n" +
			"read replaces slave->bond->wq, which those slaves read instead, as the running kernel did.",
		Upstream: func(e *Editor) {
			e.Replace("include/net/bonding.h", "\tstruct rtnl_link_stats64 slave_stats;\n};",
				"\tstruct rtnl_link_stats64 slave_stats;\n\tstruct workqueue_struct *wq; /* the bond's, for slave events */\n};")
			m := "drivers/net/bonding/bond_main.c"
			e.Replace(m, "\tqueue_delayed_work(slave->bond->wq, &slave->notify_work, 0);", "\tqueue_delayed_work(slave->wq, &slave->notify_work, 0);")
			e.Replace(m, "\tnew_slave = bond_alloc_slave(bond, slave_dev);\n\tif (!new_slave) {\n\t\tres = -ENOMEM;\n\t\tgoto err_undo_flags;\n\t}\n",
				"\tnew_slave = bond_alloc_slave(bond, slave_dev);\n\tif (!new_slave) {\n\t\tres = -ENOMEM;\n\t\tgoto err_undo_flags;\n\t}\n\tnew_slave->wq = bond->wq;\n")
		},
		Resolves: []string{"shadow"},
		Structs:  []string{"struct slave"},
		Reports:  []string{"computes s->bond->wq from the object when it is read, what the running kernel's code read"},
	},
	{
		Name:    "work",
		Subject: "bonding: report the slave count from a delayed work after an enslave",
		Doc: "A work item added to a live object: struct bonding gains struct delayed_work\n" +
			"slave_count_work, initialised in bond_work_init_all() with bond_slave_count_notify(),\n" +
			"queued by bond_enslave() and cancelled in bond_work_cancel_all(); the work function\n" +
			"gets back to the bond with container_of(work, struct bonding, slave_count_work.work).\n" +
			"A bond opened before the livepatch loads never ran the init.",
		Upstream: func(e *Editor) {
			e.Replace("include/net/bonding.h", "\tstruct   delayed_work slave_arr_work;\n",
				"\tstruct   delayed_work slave_arr_work;\n\tstruct   delayed_work slave_count_work;\n")
			m := "drivers/net/bonding/bond_main.c"
			e.Replace(m, "\t/* enslave is successful */\n\tbond_queue_slave_event(new_slave);\n",
				"\t/* enslave is successful */\n\tbond_queue_slave_event(new_slave);\n\tqueue_delayed_work(bond->wq, &bond->slave_count_work, 10 * HZ);\n")
			e.Replace(m, "\tINIT_DELAYED_WORK(&bond->slave_arr_work, bond_slave_arr_handler);\n",
				"\tINIT_DELAYED_WORK(&bond->slave_arr_work, bond_slave_arr_handler);\n\tINIT_DELAYED_WORK(&bond->slave_count_work, bond_slave_count_notify);\n")
			e.Replace(m, "\tcancel_delayed_work_sync(&bond->slave_arr_work);\n",
				"\tcancel_delayed_work_sync(&bond->slave_arr_work);\n\tcancel_delayed_work_sync(&bond->slave_count_work);\n")
			e.Replace(m, "/*-------------------------- Device entry points ----------------------------*/\n",
				"/*-------------------------- Device entry points ----------------------------*/\n\n"+
					"static void bond_slave_count_notify(struct work_struct *work)\n{\n"+
					"\tstruct bonding *bond = container_of(work, struct bonding, slave_count_work.work);\n\n"+
					"\tnetdev_notice(bond->dev, \"now has %d slaves\\n\", bond->slave_cnt);\n}\n")
		},
		Resolves: []string{"shadow"},
		Structs:  []string{"struct bonding"},
		Reports:  []string{"whose constructor initialises the work with bond_slave_count_notify()", "objects created before the livepatch get the work, initialised with bond_slave_count_notify(), on first use"},
	},
	{
		Name:    "module-use-rcu",
		Subject: "module: free module_use entries after an RCU grace period",
		Doc: "struct module_use gains struct rcu_head rcu, and module_unload_free() frees each entry\n" +
			"with kfree_rcu(use, rcu) instead of kfree(use): the commonest use-after-free fix. The\n" +
			"entry is freed under module_mutex, where the code may sleep, so the headless\n" +
			"kfree_rcu_mightsleep(use) frees it after the same grace period with no rcu_head in it.",
		Upstream: func(e *Editor) {
			e.Replace("include/linux/module.h", "\tstruct module *source, *target;\n};", "\tstruct module *source, *target;\n\tstruct rcu_head rcu;\n};")
			e.Replace("kernel/module/main.c", "\t\tkfree(use);\n", "\t\tkfree_rcu(use, rcu);\n")
		},
		Resolves: []string{"rcuhead"},
		Structs:  []string{"struct module_use"},
		Reports:  []string{"module_unload_free sleeps (mutex_lock)"},
	},
	{
		Name:    "inetpeer",
		Subject: "inetpeer: check a hash of the address before using a peer",
		Doc: "struct inet_peer gains u32 hash, computed from the peer's own address when\n" +
			"inet_getpeer() creates the peer, and compared on every lookup. Peers created before the\n" +
			"livepatch loads would read 0 and never be found again; an upstream-built kernel gave\n" +
			"each peer its hash when it was created.",
		Upstream: func(e *Editor) {
			e.Replace("include/net/inetpeer.h", "\tstruct inetpeer_addr\tdaddr;\n", "\tstruct inetpeer_addr\tdaddr;\n\tu32\t\t\thash;\t/* jhash2 of daddr */\n")
			c := "net/ipv4/inetpeer.c"
			e.Replace(c, "#include <linux/interrupt.h>\n", "#include <linux/interrupt.h>\n#include <linux/jhash.h>\n")
			e.Replace(c, "\tstruct rb_node **pp, *parent, *next;\n\tstruct inet_peer *p;\n\tu32 now;\n",
				"\tstruct rb_node **pp, *parent, *next;\n\tstruct inet_peer *p;\n\tu32 hash = jhash2(daddr->key, ARRAY_SIZE(daddr->key), daddr->family);\n\tu32 now;\n")
			e.Replace(c, "\t\tcmp = inetpeer_addr_cmp(daddr, &p->daddr);\n\t\tif (cmp == 0) {\n",
				"\t\tcmp = inetpeer_addr_cmp(daddr, &p->daddr);\n\t\tif (cmp == 0 && p->hash == hash) {\n")
			e.Replace(c, "\t\t\tp->daddr = *daddr;\n",
				"\t\t\tp->daddr = *daddr;\n\t\t\tp->hash = jhash2(p->daddr.key, ARRAY_SIZE(p->daddr.key),\n\t\t\t\t\t p->daddr.family);\n")
		},
		Resolves: []string{"shadow"},
		Structs:  []string{"struct inet_peer"},
		Reports:  []string{"computes jhash2(s->daddr.key, ARRAY_SIZE(s->daddr.key), s->daddr.family) from the object"},
	},
	{
		Name:    "inline",
		Subject: "bonding: report the transmit hash policy of round-robin bonds",
		Doc: "A changed static inline of include/net/bonding.h: bond_mode_uses_xmit_hash() also\n" +
			"answers true for round-robin bonds, which /proc/net/bonding then shows.",
		Upstream: func(e *Editor) {
			e.Replace("include/net/bonding.h", "\treturn (BOND_MODE(bond) == BOND_MODE_8023AD ||\n\t\tBOND_MODE(bond) == BOND_MODE_XOR ||\n\t\tbond_is_nondyn_tlb(bond));",
				"\treturn (BOND_MODE(bond) == BOND_MODE_8023AD ||\n\t\tBOND_MODE(bond) == BOND_MODE_ROUNDROBIN ||\n\t\tBOND_MODE(bond) == BOND_MODE_XOR ||\n\t\tbond_is_nondyn_tlb(bond));")
		},
		Resolves: []string{"header2c"},
	},
	{
		Name:    "seed",
		Subject: "bonding: report committed link changes and flag changes of slaves",
		Doc: "The seed case's three parts on the real tree: a new bit in struct slave's bitfield\n" +
			"group, set in the header inline bond_commit_link_state() and shown in\n" +
			"/proc/net/bonding; and a new member of the notifier info struct\n" +
			"netdev_notifier_change_info, set where net/core/dev.c (vmlinux) builds the\n" +
			"notification and read by the bonding module's notifier handler.",
		Upstream: func(e *Editor) {
			h := "include/net/bonding.h"
			e.Replace(h, "\t       should_notify_link:1; /* indicates whether the link changed */\n",
				"\t       should_notify_link:1, /* indicates whether the link changed */\n\t       link_committed:1; /* a link state change was committed */\n")
			e.Replace(h, "\tslave->link = slave->link_new_state;\n\tif (notify) {\n",
				"\tslave->link = slave->link_new_state;\n\tslave->link_committed = 1;\n\tif (notify) {\n")
			e.InsertAfterLine("drivers/net/bonding/bond_procfs.c", "\"Slave queue ID: %d\\n\"",
				"\tseq_printf(seq, \"Link committed: %u\\n\", slave->link_committed);\n")
			e.Replace("include/linux/netdevice.h", "\tstruct netdev_notifier_info info; /* must be first */\n\tunsigned int flags_changed;\n};",
				"\tstruct netdev_notifier_info info; /* must be first */\n\tunsigned int flags_changed;\n\tunsigned int old_flags; /* flags before the change */\n};")
			e.Replace("net/core/dev.c", "\t\t\t.flags_changed = changes,\n", "\t\t\t.flags_changed = changes,\n\t\t\t.old_flags = old_flags,\n")
			e.Replace("drivers/net/bonding/bond_main.c", "\tif (event_dev->flags & IFF_SLAVE)\n\t\treturn bond_slave_netdev_event(event, event_dev);\n",
				"\tif (event_dev->flags & IFF_SLAVE) {\n\t\tif (event == NETDEV_CHANGE) {\n\t\t\tstruct netdev_notifier_change_info *change_info = ptr;\n\n"+
					"\t\t\tnetdev_info(event_dev, \"flags %#x -> %#x\\n\",\n\t\t\t\t    change_info->old_flags, event_dev->flags);\n\t\t}\n"+
					"\t\treturn bond_slave_netdev_event(event, event_dev);\n\t}\n")
		},
		Resolves: []string{"header2c", "bitfield", "structext"},
		Structs:  []string{"struct slave", "struct netdev_notifier_change_info"},
	},
	{
		Name:    "statickey",
		Subject: "bonding: read the neighbour message at the network header",
		Doc: "A fix to a function of the bonding module that holds a jump label on the module's own\n" +
			"static key: bond_should_broadcast_neighbor() tests bond_bcast_neigh_enabled (the\n" +
			"broadcast_neighbor option, in Linux 7.1 and 6.1.176). gcc inlines it into bond_start_xmit,\n" +
			"whose livepatch both builders refuse (\"unsupported static branch key\"); the rewrite\n" +
			"reads the key with static_key_enabled().",
		Upstream: func(e *Editor) {
			e.Replace("drivers/net/bonding/bond_main.c", "\t\tcombined = skb_header_pointer(skb, skb_mac_header_len(skb),\n",
				"\t\tcombined = skb_header_pointer(skb, skb_network_offset(skb),\n")
		},
		Resolves: []string{"statickey"},
	},
	{
		Name:    "syscall",
		Subject: "uts: refuse an empty hostname",
		Doc: "A changed system call: sethostname() refuses a name of length 0, which left the\n" +
			"host with an empty name.",
		Upstream: func(e *Editor) {
			e.Replace("kernel/sys.c", "\tif (len < 0 || len > __NEW_UTS_LEN)\n\t\treturn -EINVAL;\n\terrno = -EFAULT;\n\tif (!copy_from_user(tmp, name, len)) {\n\t\tstruct new_utsname *u;\n\n\t\tadd_device_randomness(tmp, len);\n\t\tdown_write(&uts_sem);\n\t\tu = utsname();\n\t\tmemcpy(u->nodename,",
				"\tif (len <= 0 || len > __NEW_UTS_LEN)\n\t\treturn -EINVAL;\n\terrno = -EFAULT;\n\tif (!copy_from_user(tmp, name, len)) {\n\t\tstruct new_utsname *u;\n\n\t\tadd_device_randomness(tmp, len);\n\t\tdown_write(&uts_sem);\n\t\tu = utsname();\n\t\tmemcpy(u->nodename,")
		},
		Resolves: []string{"syscall"},
	},
}

// E2E names the cases of the end-to-end proof (e2e/): forward patches on
// the pristine tree, so one base kernel serves them all, each with a
// behaviour userspace can see.
// ("enslave-seq" and "shadow" are not in it: slaves enslaved and tasks
// created before the load cannot read the enslave sequence and the newpid
// the upstream-built kernel gives them, so their rewrites need an
// engineer.) "lock", "slave-ifindex" and "work" are the existing-object
// cases: a lock that slaves enslaved before the load take too, a value
// those slaves compute from their own fields, and a work item a bond opened
// before the load queues (its shadow's constructor initialises it).
var E2E = []string{"hole", "inline", "seed", "syscall", "lock", "slave-ifindex", "work"}
