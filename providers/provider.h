/* SPDX-License-Identifier: MIT */
/* Provider profiles: what mailhaul knows about a kind of server, as data the program
 * hands to the layers below: IMAP endpoint, OAuth2 endpoints and scopes, default sign-in
 * flow, limits. Built in: "generic" (any IMAP server, passwords), "gmail" (Gmail and
 * Google Workspace) and "m365" (Microsoft 365 / Outlook.com). No client id is shipped:
 * each user or organisation registers its own (see mh_provider_client_help()). */
#ifndef MH_PROVIDER_H
#define MH_PROVIDER_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

enum mh_provider_tls {
	MH_PROVIDER_TLS_IMPLICIT,
	MH_PROVIDER_TLS_STARTTLS,
	MH_PROVIDER_TLS_NONE,
};

enum mh_provider_flow {
	MH_PROVIDER_FLOW_NONE,    /* passwords only */
	MH_PROVIDER_FLOW_BROWSER, /* authorization code + PKCE, loopback redirect */
	MH_PROVIDER_FLOW_DEVICE,  /* device authorization grant */
	MH_PROVIDER_FLOW_PASTE,   /* like browser, the final URL pasted back by hand */
};

struct mh_provider {
	const char *name;         /* "generic", "gmail", "m365" */
	const char *description;  /* one line for `provider show` */
	const char *imap_host;    /* NULL: the user gives it */
	uint16_t imap_port;       /* 0: from the TLS mode */
	enum mh_provider_tls tls; /* default TLS mode */
	const char *smtp_host;    /* submission server (check --send-test); NULL: the IMAP host */
	uint16_t smtp_port;       /* 0: from the TLS mode (465 implicit, 587 STARTTLS) */
	enum mh_provider_tls smtp_tls; /* IMPLICIT or STARTTLS */
	const char *auth_url;          /* OAuth2 endpoints; "{tenant}" is replaced */
	const char *token_url;
	const char *device_url;
	const char *revoke_url;
	const char *scopes;            /* space-separated */
	const char *tenant;            /* default tenant (Microsoft), else NULL */
	enum mh_provider_flow flow;    /* default sign-in flow */
	bool client_secret_needed;     /* the token endpoint wants client_secret (Google) */
	unsigned max_connections;      /* default connections per account, 0 = no limit known */
	unsigned max_connections_hard; /* the server's own limit, 0 = unknown */
	uint64_t max_message_size;     /* bytes, 0 = no limit known (APPENDLIMIT wins when sent) */
	const char *client_help;       /* three lines: how to get a client id, where to put it */
	/* Why the token endpoint may refuse a stored refresh token (invalid_grant) and how to
	 * avoid it: one clause for the error line, or NULL */
	const char *refresh_refused_help;
	/* Behaviour as a source */
	bool labels; /* folders are labels: one message may sit in several */
	/* The subject of what the server serves instead of a message it cannot convert
	 * (Exchange: "Retrieval using the IMAP4 protocol failed ..."), or NULL */
	const char *placeholder_subject;
	/* Behaviour as a destination */
	bool dst_labels;           /* more labels go on with STORE +X-GM-LABELS (X-GM-EXT-1) */
	bool dst_dedups;           /* drops duplicate APPENDs silently: identity by Message-ID */
	bool dst_case_insensitive; /* folder names compared ignoring case */
	bool dst_rerenders;        /* re-renders stored messages: never compare size or bytes */
	bool flagged_after_append; /* \Flagged is set by a STORE after the APPEND */
	const char *drop_keywords; /* space-separated keywords never set ("$MDNSent"), or NULL */
	unsigned fixups;           /* enum mh_provider_fixup bits applied by default */
	size_t max_line;           /* with MH_PROVIDER_FIXUP_WRAP: longest line kept */
	/* Pacing and budgets */
	double pace;                 /* messages per second per connection, 0 = unpaced */
	unsigned errors_per_session; /* the server drops a session after this many NO/BAD, 0 = none
	                              */
	uint64_t upload_per_day;     /* bytes a day the server takes, 0 = no budget */
	uint64_t download_per_day;   /* bytes a day the server gives, 0 = no budget */
	uint64_t min_rate;           /* bytes/s: a slower copy means a spent budget (Gmail) */
};

/* Returns the built-in profile called @name (ignoring case), or NULL. */
const struct mh_provider *mh_provider_find(const char *name);

/* The profile used when none is named. */
const struct mh_provider *mh_provider_generic(void);

/* The built-in profiles, NULL-terminated. */
const struct mh_provider *const *mh_provider_all(void);

const char *mh_provider_flow_name(enum mh_provider_flow flow);

/* Parses "browser", "device", "paste"; false when unknown. */
bool mh_provider_flow_parse(const char *s, enum mh_provider_flow *flow_r);

/* --- detection --- */

/* The profile a server looks like: "gmail" when @caps (capability atoms, NULL-terminated,
 * any case) hold X-GM-EXT-1, "m365" when @greeting (the text after "* OK") names
 * "Microsoft Exchange", else by @host (imap.gmail.com, outlook.office365.com and the other
 * known host names); NULL when nothing matches. *why_r (may be NULL) gets a static phrase
 * for the log: "X-GM-EXT-1 capability", "Exchange greeting", "host name". */
const struct mh_provider *mh_provider_detect(const char *host, const char *greeting,
                                             const char *const *caps, const char **why_r);

/* --- folders --- */

/* Special-use roles, as the CLI hands them over (the IMAP layer has its own bits). */
enum mh_provider_role {
	MH_PROVIDER_ROLE_NOSELECT = 1 << 0,
	MH_PROVIDER_ROLE_ALL = 1 << 1,
	MH_PROVIDER_ROLE_ARCHIVE = 1 << 2,
	MH_PROVIDER_ROLE_DRAFTS = 1 << 3,
	MH_PROVIDER_ROLE_FLAGGED = 1 << 4,
	MH_PROVIDER_ROLE_JUNK = 1 << 5,
	MH_PROVIDER_ROLE_SENT = 1 << 6,
	MH_PROVIDER_ROLE_TRASH = 1 << 7,
	MH_PROVIDER_ROLE_IMPORTANT = 1 << 8,
};

/* What the user asked to copy although the profile leaves it out by default. */
struct mh_provider_source_opts {
	bool spam;  /* copy Gmail's Spam */
	bool trash; /* copy Gmail's Trash */
};

/* Why the profile leaves source folder @name (UTF-8, hierarchy separator @sep, roles
 * @roles) out by default, or NULL to copy it. Gmail: the [Gmail] / [Google Mail]
 * container, Starred (\Flagged: the star travels as the message's \Flagged flag),
 * Important, Spam and Trash (unless @o asks). Microsoft 365: the non-mail folders
 * Calendar, Contacts, Tasks, Notes, Journal, Conversation History, Sync Issues, RSS Feeds,
 * Outbox, Files, with their subfolders, at the top level (English names and the localized
 * ones in de fr es it nl pt). A static phrase ("a Microsoft 365 calendar folder, not
 * mail"). */
const char *mh_provider_source_skip(const struct mh_provider *p, const char *name, char sep,
                                    unsigned roles, const struct mh_provider_source_opts *o);

/* One line naming what mh_provider_source_skip() leaves out for @p (static), or NULL when
 * it leaves out nothing; for `provider show`. */
const char *mh_provider_source_skip_summary(const struct mh_provider *p);

/* The name to use on other servers for source folder @name: Gmail strips a leading
 * "[Gmail]/" or "[Google Mail]/" (separator @sep). Returns a new string (a copy when
 * nothing changes). */
char *mh_provider_source_name(const struct mh_provider *p, const char *name, char sep);

/* Rewrites destination folder @name (UTF-8, separator @sep) into one the server accepts,
 * component by component. Gmail: leading, trailing and repeated blanks removed, '^' and
 * the characters it refuses turned into '_'; Microsoft 365: trailing blanks and dots
 * trimmed, a top-level "Files" (reserved) renamed "Files_renamed". Returns a new string;
 * *why_r (may be NULL) gets a static phrase when the name changed, else NULL. */
char *mh_provider_dest_name(const struct mh_provider *p, const char *name, char sep,
                            const char **why_r);

/* --- errors --- */

enum mh_provider_error_class {
	MH_PROVIDER_ERR_UNKNOWN,     /* no rule matched: the caller's own handling */
	MH_PROVIDER_ERR_TRANSIENT,   /* reconnect and retry */
	MH_PROVIDER_ERR_BACKOFF,     /* throttled: wait backoff_ms, reconnect, resume */
	MH_PROVIDER_ERR_CONNECTIONS, /* too many connections: wait, use fewer; never a bad login */
	MH_PROVIDER_ERR_BUDGET,      /* a bandwidth or daily budget is spent: pause for hours */
	MH_PROVIDER_ERR_MESSAGE,     /* this message is refused (size, long lines): skip it */
	MH_PROVIDER_ERR_QUOTA,       /* the mailbox is full: stop appending to it */
	MH_PROVIDER_ERR_RELOGIN,     /* credentials or token refused: refresh once, then sign in */
	MH_PROVIDER_ERR_CONFIG,      /* a setting an administrator must change */
	MH_PROVIDER_ERR_FOLDER_NAME, /* the folder name is refused: rename it */
	MH_PROVIDER_ERR_NO_FOLDER,   /* the folder cannot be selected: skip it */
};

struct mh_provider_verdict {
	enum mh_provider_error_class cls;
	uint64_t backoff_ms;  /* BACKOFF: the server's suggestion; CONNECTIONS, BUDGET: a default */
	const char *advice;   /* static; one sentence saying what to do, or NULL */
	const char *provider; /* the provider whose text matched ("gmail", "m365"), or NULL */
};

/* Classifies a server's answer: @p the profile of the server that sent it (chosen or
 * detected; NULL when unknown), @status "NO", "BAD" or "BYE", @text the rest of the line
 * with its response code ("[ALERT] Too many simultaneous connections. (Failure)"). Rules
 * of every profile classify for all (a Gmail text is a Gmail text whatever the profile),
 * the standard response codes of RFC 5530 last; but a provider's advice (its names,
 * limits, `mailhaul login PROVIDER:`) is given only when @p is that provider, other
 * servers get the class's plain advice, and a refused sign-in ([AUTHENTICATIONFAILED], or
 * a provider's text on another server) none: the caller knows what was refused. Returns
 * cls != UNKNOWN. "Mailbox already exists" and [ALREADYEXISTS] stay UNKNOWN (false) with an
 * advice: the folder is there, maybe in another case on Microsoft 365, and the caller
 * uses it. */
/* Whether @head (the start of a message as @p serves it: at least its header, or all of it)
 * is @p's placeholder for a message it could not convert: its Subject starts with
 * p->placeholder_subject. *header_done_r: whether @head holds the whole header (else more
 * bytes may still decide). */
bool mh_provider_is_placeholder(const struct mh_provider *p, const unsigned char *head, size_t len,
                                bool *header_done_r);

bool mh_provider_classify(const struct mh_provider *p, const char *status, const char *text,
                          struct mh_provider_verdict *v);

const char *mh_provider_error_class_name(enum mh_provider_error_class cls);

/* --- message fix-ups (a destination's demands on message bytes) --- */

enum mh_provider_fixup_kind {
	MH_PROVIDER_FIXUP_RECEIPTS = 1 << 0, /* Disposition-Notification-To -> X-Disposition-... */
	MH_PROVIDER_FIXUP_WRAP = 1 << 1,     /* lines longer than max_line are broken */
	MH_PROVIDER_FIXUP_MDNSENT = 1 << 2,  /* the $MDNSent keyword is dropped (flags only) */
	MH_PROVIDER_FIXUP_FLAGGED = 1 << 3,  /* \Flagged set by a STORE after the APPEND */
};

/* Parses "receipts,wrap,mdnsent,flagged" (or "all", "none"); false on an unknown word. */
bool mh_provider_fixups_parse(const char *s, unsigned *fixups_r);

/* "receipts,wrap" for the bits; static buffer-free: returns a new string. */
char *mh_provider_fixups_str(unsigned fixups);

/* A streaming rewriter of a message's bytes for MH_PROVIDER_FIXUP_RECEIPTS and _WRAP. */
struct mh_provider_fixup;

struct mh_provider_fixup *mh_provider_fixup_new(unsigned fixups, size_t max_line);

/* Rewrites @len bytes of the message, appending the result to @out. Headers end at the
 * first empty line; a header field folded over several lines is one field. A line is
 * broken (CRLF, or LF when the message uses bare LF) at the last blank before max_line
 * inside headers (continuing with a space: folding) and in the body; a line with no blank
 * is cut at max_line (quoted-printable soft breaks are not invented). A break before the
 * first line end uses CRLF. max_line 0 wraps nothing; 1 counts as 2. Holds back at most
 * max_line + 2 bytes. */
void mh_provider_fixup_feed(struct mh_provider_fixup *f, const unsigned char *data, size_t len,
                            GByteArray *out);

/* Flushes what is held back. */
void mh_provider_fixup_finish(struct mh_provider_fixup *f, GByteArray *out);

/* The fix-ups that changed something (MH_PROVIDER_FIXUP_* bits). */
unsigned mh_provider_fixup_applied(const struct mh_provider_fixup *f);

void mh_provider_fixup_free(struct mh_provider_fixup *f);

#endif
