/* SPDX-License-Identifier: MIT */
/* The sync engine's error domain. Codes say what the caller can do. */
#ifndef MH_SYNC_ERROR_H
#define MH_SYNC_ERROR_H

#include <glib.h>

#define MH_SYNC_ERROR (mh_sync_error_quark())
GQuark mh_sync_error_quark(void);

enum mh_sync_error_code {
	MH_SYNC_ERROR_STATE,       /* the state database cannot be opened, read or written */
	MH_SYNC_ERROR_FOLDER,      /* a folder cannot be listed, created or selected */
	MH_SYNC_ERROR_MESSAGE,     /* one message cannot be fetched or stored */
	MH_SYNC_ERROR_QUOTA,       /* the destination is over quota: stop, free space, rerun */
	MH_SYNC_ERROR_APPEND,      /* the destination refused an APPEND */
	MH_SYNC_ERROR_INTERRUPTED, /* stopped on request (signal); a rerun resumes */
	MH_SYNC_ERROR_USAGE,       /* a caller setting that cannot work */
	MH_SYNC_ERROR_BUDGET,      /* a daily transfer budget is spent: pause, then go on */
	MH_SYNC_ERROR_RECONNECT,   /* a fresh session is needed (the server's error limit) */
	MH_SYNC_ERROR_LOCKED,      /* another run holds the account pair's lock: run later */
	MH_SYNC_ERROR_BATCH,       /* a MULTIAPPEND of several messages was refused as a whole:
	                              send them one by one to find the one refused */
};

#endif
