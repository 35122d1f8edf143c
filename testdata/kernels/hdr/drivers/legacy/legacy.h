/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _LEGACY_H
#define _LEGACY_H

/* State of a legacy ring user (built only with CONFIG_LEGACY). */
struct legacy_state {
	u32 fills;
	u32 last;
};

#endif
