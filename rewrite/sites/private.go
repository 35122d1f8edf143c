package sites

import (
	"fmt"
	"strings"

	"github.com/kprewrite/kprewrite/ast"
	"github.com/kprewrite/kprewrite/rewrite"
)

// Many drivers do not allocate their private struct themselves: they hand
// its size to a subsystem's allocator, which puts it behind the
// subsystem's own object ("dev = alloc_etherdev(sizeof(*priv));
// priv = netdev_priv(dev);"). Such an allocator zeroes the whole area, so
// a new member of the private struct starts zeroed as with kzalloc; its
// size is fixed when the subsystem's object is made, so the struct cannot
// grow, and the area goes with the subsystem's object (free_netdev), not
// with a kfree of the private struct.

// privateAllocator is a subsystem allocator that puts a driver's private
// area behind its own object, and where the tree shows that it zeroes it.
type privateAllocator struct {
	file, fn string   // the function that allocates, in the tree
	zeroes   []string // words in its body that show the area is zeroed
}

// privateAllocators maps the names drivers call (functions and the macros
// around them) to the function that allocates.
var privateAllocators = func() map[string]privateAllocator {
	netdev := privateAllocator{"net/core/dev.c", "alloc_netdev_mqs", []string{"kvzalloc", "kzalloc"}}
	wiphy := privateAllocator{"net/wireless/core.c", "wiphy_new_nm", []string{"kzalloc"}}
	spi := privateAllocator{"drivers/spi/spi.c", "__spi_alloc_controller", []string{"kzalloc"}}
	m := map[string]privateAllocator{
		"scsi_host_alloc":       {"drivers/scsi/hosts.c", "scsi_host_alloc", []string{"kzalloc"}},
		"iio_device_alloc":      {"drivers/iio/industrialio-core.c", "iio_device_alloc", []string{"kzalloc"}},
		"snd_card_new":          {"sound/core/init.c", "snd_card_new", []string{"kzalloc"}},
		"mmc_alloc_host":        {"drivers/mmc/core/host.c", "mmc_alloc_host", []string{"kzalloc"}},
		"mdiobus_alloc_size":    {"drivers/net/phy/mdio_bus.c", "mdiobus_alloc_size", []string{"kzalloc"}},
		"devm_iio_device_alloc": {"drivers/iio/industrialio-core.c", "iio_device_alloc", []string{"kzalloc"}},
	}
	for _, n := range []string{"alloc_netdev", "alloc_netdev_mq", "alloc_netdev_mqs", "alloc_etherdev", "alloc_etherdev_mq", "alloc_etherdev_mqs", "devm_alloc_etherdev", "devm_alloc_etherdev_mqs", "alloc_candev", "alloc_candev_mq", "alloc_candev_mqs"} {
		m[n] = netdev
	}
	for _, n := range []string{"wiphy_new", "wiphy_new_nm", "ieee80211_alloc_hw", "ieee80211_alloc_hw_nm"} {
		m[n] = wiphy
	}
	for _, n := range []string{"spi_alloc_master", "spi_alloc_slave", "spi_alloc_host", "spi_alloc_target", "devm_spi_alloc_master", "devm_spi_alloc_slave", "devm_spi_alloc_host", "devm_spi_alloc_target", "__spi_alloc_controller", "__devm_spi_alloc_controller"} {
		m[n] = spi
	}
	return m
}()

// classifyPrivate fills a site whose sizeof is the private size handed to
// a subsystem allocator; it reports false when call is none.
func classifyPrivate(p *rewrite.Session, st *Site, tag, call string) bool {
	a, ok := privateAllocators[call]
	if !ok {
		return false
	}
	st.Kind, st.Alloc = Private, call
	st.Unfit = fmt.Sprintf("the private area %s() puts behind its own object: its size is fixed when that object is made", call)
	if why := a.zeroing(p); why != "" {
		st.Zeroed = true
		st.Alloc = call + ", which zeroes it (" + why + ")"
	}
	return true
}

// zeroing returns the evidence, in the tree, that the allocator zeroes
// the area, or "".
func (a privateAllocator) zeroing(p *rewrite.Session) string {
	src := p.File(a.file)
	if src == nil {
		return ""
	}
	fn := ast.Parse(a.file, src).Func(a.fn)
	if fn == nil {
		return ""
	}
	body := string(src[fn.Body.Off:fn.Body.End])
	for _, w := range a.zeroes {
		if strings.Contains(body, w+"(") {
			return fmt.Sprintf("%s %s: %s", a.file, a.fn, w)
		}
	}
	return ""
}
