/* SPDX-License-Identifier: MIT */
/* The MH_SYNC_ERROR domain. */
#include "sync-error.h"

GQuark
mh_sync_error_quark(void)
{
	return g_quark_from_static_string("mh-sync-error-quark");
}
