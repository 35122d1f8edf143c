// SPDX-License-Identifier: GPL-2.0
/*
 * Ring features (miniature, for header2c's token-pasted generator case).
 */

#include <linux/ringfeat.h>

bool ringfeat_wants_crc(const struct ringfeat *f)
{
	return ring_has_feature_crc(f);
}
