/* SPDX-License-Identifier: MIT */
/* The MH_IMAP_ERROR domain. */
#include "imap-error.h"

G_DEFINE_QUARK(mh - imap - error - quark, mh_imap_error)
