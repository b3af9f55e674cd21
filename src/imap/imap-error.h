/* SPDX-License-Identifier: MIT */
/* The IMAP layer's error domain. Codes say what the caller can do. */
#ifndef MH_IMAP_ERROR_H
#define MH_IMAP_ERROR_H

#include <glib.h>

#define MH_IMAP_ERROR (mh_imap_error_quark())
GQuark mh_imap_error_quark(void);

enum mh_imap_error_code {
	MH_IMAP_ERROR_RESOLVE,       /* host name not resolvable */
	MH_IMAP_ERROR_CONNECT,       /* refused, unreachable */
	MH_IMAP_ERROR_TIMEOUT,       /* connect or read timed out */
	MH_IMAP_ERROR_DISCONNECTED,  /* the connection dropped: retry */
	MH_IMAP_ERROR_TLS,           /* handshake, certificate, host name, no STARTTLS */
	MH_IMAP_ERROR_NO,            /* the server refused a command (tagged NO) */
	MH_IMAP_ERROR_BAD,           /* the server rejected our syntax (tagged BAD) */
	MH_IMAP_ERROR_PROTOCOL,      /* the server broke the protocol or a cap */
	MH_IMAP_ERROR_AUTH,          /* authentication refused */
	MH_IMAP_ERROR_AUTH_MECH,     /* no usable mechanism */
	MH_IMAP_ERROR_BYE,           /* the server closed the session */
	MH_IMAP_ERROR_USAGE,         /* a caller setting that cannot work */
	MH_IMAP_ERROR_TOKEN_EXPIRED, /* the access token was rejected as expired or invalid:
	                              refresh it and retry once */
};

#endif
