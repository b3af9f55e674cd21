/* SPDX-License-Identifier: MIT */
/* The MH_IMAP_ERROR domain. */
#include "imap-error.h"

/* Written out: clang-format would put spaces into G_DEFINE_QUARK's hyphenated name. */
GQuark
mh_imap_error_quark(void)
{
	return g_quark_from_static_string("mh-imap-error-quark");
}
