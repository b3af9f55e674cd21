/* SPDX-License-Identifier: MIT */
/* The input tables of test-imap-parser.c: server responses with the exact dump each
 * must parse to, and malformed input with the exact error. Dump format: "*", "+" or
 * "tag=T", then " #N", the name, " status=S", " [CODE args]", " text=\"...\"" and
 * the arguments; atoms bare, strings quoted with bytes outside printable ASCII (and
 * quote, backslash) as \xNN, literals as {n}"bytes", lists in parentheses. A dump
 * line per response; "ERROR: message" at an error, "MORE" for an incomplete one. */
#ifndef TEST_IMAP_PARSER_CASES_H
#define TEST_IMAP_PARSER_CASES_H

#include <stddef.h>

struct parse_case {
	const char *name;
	const char *in;
	size_t len;
	const char *want;
};

#define CASE(name, in, want)                   \
	{                                      \
		name, in, sizeof(in) - 1, want \
	}

static const struct parse_case parse_cases[] = {
	CASE("greeting-dovecot",
             "* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
             "AUTH=PLAIN] Dovecot ready.\r\n",
             "* OK status=OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE "
             "LITERAL+ AUTH=PLAIN] text=\"Dovecot ready.\""),
	CASE("greeting-gmail", "* OK Gimap ready for requests from 192.0.2.7 h12mb2345678wma\r\n",
             "* OK status=OK text=\"Gimap ready for requests from 192.0.2.7 h12mb2345678wma\""),
	CASE("greeting-exchange",
             "* OK The Microsoft Exchange IMAP4 service is ready. [UwBOADEAUABSADAA]\r\n",
             "* OK status=OK text=\"The Microsoft Exchange IMAP4 service is ready. "
             "[UwBOADEAUABSADAA]\""),
	CASE("tagged-read-write", "A001 OK [READ-WRITE] SELECT completed\r\n",
             "tag=A001 OK status=OK [READ-WRITE] text=\"SELECT completed\""),
	CASE("permanentflags",
             "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags "
             "permitted.\r\n",
             "* OK status=OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] "
             "text=\"Flags permitted.\""),
	CASE("appenduid", "A003 OK [APPENDUID 38505 3955] APPEND completed\r\n",
             "tag=A003 OK status=OK [APPENDUID 38505 3955] text=\"APPEND completed\""),
	CASE("copyuid", "A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n",
             "tag=A004 OK status=OK [COPYUID 38505 304,319:320 3956:3958] text=\"Done\""),
	CASE("uidvalidity", "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
             "* OK status=OK [UIDVALIDITY 3857529045] text=\"UIDs valid\""),
	CASE("highestmodseq", "* OK [HIGHESTMODSEQ 715194045007] Highest\r\n",
             "* OK status=OK [HIGHESTMODSEQ 715194045007] text=\"Highest\""),
	CASE("alert", "* OK [ALERT] System shutdown in 10 minutes\r\n",
             "* OK status=OK [ALERT] text=\"System shutdown in 10 minutes\""),
	CASE("code-without-text", "* OK [ALERT]\r\n", "* OK status=OK [ALERT] text=\"\""),
	CASE("trycreate-unbalanced-text",
             "A005 NO [TRYCREATE] Mailbox doesn't exist: \"Foo [bar (\r\n",
             "tag=A005 NO status=NO [TRYCREATE] text=\"Mailbox doesn't exist: \\x22Foo [bar (\""),
	CASE("badcharset", "A006 NO [BADCHARSET (UTF-8 \"US-ASCII\")] charset\r\n",
             "tag=A006 NO status=NO [BADCHARSET (UTF-8 \"US-ASCII\")] text=\"charset\""),
	CASE("referral", "A7 NO [REFERRAL imap://u;AUTH=*@s2/INBOX] Try there\r\n",
             "tag=A7 NO status=NO [REFERRAL imap://u;AUTH=*@s2/INBOX] text=\"Try there\""),
	CASE("bye", "* BYE Logging out\r\n", "* BYE status=BYE text=\"Logging out\""),
	CASE("preauth", "* PREAUTH [CAPABILITY IMAP4rev1] Logged in as joe\r\n",
             "* PREAUTH status=PREAUTH [CAPABILITY IMAP4rev1] text=\"Logged in as joe\""),
	CASE("status-case", "a7 bad Command unknown\r\nA8 Ok\r\nA9 OK \r\n",
             "tag=a7 BAD status=BAD text=\"Command unknown\"\n"
             "tag=A8 OK status=OK text=\"\"\ntag=A9 OK status=OK text=\"\""),
	CASE("exists-expunge", "* 23 EXISTS\r\n* 5 EXPUNGE\r\n* 0 RECENT\r\n* 007 EXISTS\r\n",
             "* #23 EXISTS\n* #5 EXPUNGE\n* #0 RECENT\n* #7 EXISTS"),
	CASE("number-max", "* 4294967295 EXISTS\r\n", "* #4294967295 EXISTS"),
	CASE("fetch-literal",
             "* 5 FETCH (UID 7 FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
             "RFC822.SIZE 15 BODY[] {15}\r\nHello\r\nworld!\r\n)\r\n",
             "* #5 FETCH (UID 7 FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
             "RFC822.SIZE 15 BODY[] {15}\"Hello\\x0d\\x0aworld!\\x0d\\x0a\")"),
	CASE("capability",
             "* CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN AUTH=XOAUTH2 X-GM-EXT-1 UTF8=ACCEPT\r\n",
             "* CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN AUTH=XOAUTH2 X-GM-EXT-1 UTF8=ACCEPT"),
	CASE("list", "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n",
             "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\""),
	CASE("list-nil", "* LIST () NIL INBOX\r\n", "* LIST () NIL INBOX"),
	CASE("xlist-gmail", "* XLIST (\\HasNoChildren \\AllMail) \"/\" \"[Gmail]/All Mail\"\r\n",
             "* XLIST (\\HasNoChildren \\AllMail) \"/\" \"[Gmail]/All Mail\""),
	CASE("list-bracket-atom", "* LIST (\\Noselect) \"/\" [Gmail]/x%\r\n",
             "* LIST (\\Noselect) \"/\" [Gmail]/x%"),
	CASE("lsub", "* LSUB (\\Noselect) \".\" #news.\r\n", "* LSUB (\\Noselect) \".\" #news."),
	CASE("status", "* STATUS \"a b\" (MESSAGES 3 UIDNEXT 4)\r\n",
             "* STATUS \"a b\" (MESSAGES 3 UIDNEXT 4)"),
	CASE("search", "* SEARCH 1 2 3\r\n* SEARCH\r\n* SEARCH 4 5 \r\n",
             "* SEARCH 1 2 3\n* SEARCH\n* SEARCH 4 5"),
	CASE("esearch", "* ESEARCH (TAG \"A1\") UID ALL 1:3\r\n",
             "* ESEARCH (TAG \"A1\") UID ALL 1:3"),
	CASE("flags", "* FLAGS (\\Answered \\Seen \\Draft $Forwarded)\r\n",
             "* FLAGS (\\Answered \\Seen \\Draft $Forwarded)"),
	CASE("namespace", "* NAMESPACE ((\"\" \"/\")) NIL ((\"#shared.\" \".\")(\"~\" \"/\"))\r\n",
             "* NAMESPACE ((\"\" \"/\")) NIL ((\"#shared.\" \".\") (\"~\" \"/\"))"),
	CASE("id", "* ID (\"name\" \"Dovecot\" \"version\" NIL)\r\n",
             "* ID (\"name\" \"Dovecot\" \"version\" NIL)"),
	CASE("enabled", "* ENABLED CONDSTORE\r\n", "* ENABLED CONDSTORE"),
	CASE("vanished", "* VANISHED (EARLIER) 1:5\r\n", "* VANISHED (EARLIER) 1:5"),
	CASE("thread", "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n",
             "* THREAD (2) (3 6 (4 23) (44 7 96))"),
	CASE("continuation", "+ Ready for literal data\r\n", "+ text=\"Ready for literal data\""),
	CASE("continuation-bare", "+\r\n+ \r\n+ dXNlcj1ib2I=\r\n",
             "+ text=\"\"\n+ text=\"\"\n+ text=\"dXNlcj1ib2I=\""),
	CASE("literal-empty", "* 1 FETCH (BODY[TEXT] {0}\r\n)\r\n",
             "* #1 FETCH (BODY[TEXT] {0}\"\")"),
	CASE("literal-nul-crlf", "* 2 FETCH (BODY[] {6}\r\na\0b\r\nc)\r\n",
             "* #2 FETCH (BODY[] {6}\"a\\x00b\\x0d\\x0ac\")"),
	CASE("literal-plus", "* 3 FETCH (RFC822 {3+}\r\nxyz)\r\n",
             "* #3 FETCH (RFC822 {3}\"xyz\")"),
	CASE("literal8", "* 4 FETCH (BINARY[1] ~{4}\r\n\xff\0\x01\x02)\r\n",
             "* #4 FETCH (BINARY[1] {4}\"\\xff\\x00\\x01\\x02\")"),
	CASE("literal-two", "* 11 FETCH (BODY[HEADER] {3}\r\nH\r\n BODY[TEXT] {2}\r\nT\n)\r\n",
             "* #11 FETCH (BODY[HEADER] {3}\"H\\x0d\\x0a\" BODY[TEXT] {2}\"T\\x0a\")"),
	CASE("literal-after-list", "* 12 FETCH (FLAGS () BODY[] {1}\r\nx UID 3)\r\n",
             "* #12 FETCH (FLAGS () BODY[] {1}\"x\" UID 3)"),
	CASE("literal-top-level", "* LIST () \"/\" {5}\r\nINBOX\r\n",
             "* LIST () \"/\" {5}\"INBOX\""),
	CASE("header-fields-atom",
             "* 7 FETCH (UID 9 BODY[HEADER.FIELDS (MESSAGE-ID DATE)] {11}\r\nDate: x\r\n\r\n)\r\n",
             "* #7 FETCH (UID 9 BODY[HEADER.FIELDS (MESSAGE-ID DATE)] {11}\"Date: "
             "x\\x0d\\x0a\\x0d\\x0a\")"),
	CASE("partial-atom", "* 8 FETCH (BODY[]<0> {3}\r\nabc)\r\n",
             "* #8 FETCH (BODY[]<0> {3}\"abc\")"),
	CASE("bodystructure",
             "* 6 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
             "\"7BIT\" 1152 23)(\"TEXT\" \"PLAIN\" (\"NAME\" \"cc.diff\") \"<96@cac>\" "
             "\"Compiler diff\" \"BASE64\" 4554 73) \"MIXED\"))\r\n",
             "* #6 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
             "\"7BIT\" 1152 23) (\"TEXT\" \"PLAIN\" (\"NAME\" \"cc.diff\") \"<96@cac>\" "
             "\"Compiler diff\" \"BASE64\" 4554 73) \"MIXED\"))"),
	CASE("quoted-escapes", "* LIST () \"\\\\\" \"a \\\"b\\\" \\\\c\"\r\n",
             "* LIST () \"\\x5c\" \"a \\x22b\\x22 \\x5cc\""),
	CASE("gmail-labels",
             "* 9 FETCH (X-GM-LABELS (\"\\\\Important\" work) UID 20 X-GM-MSGID "
             "1278455344230334865)\r\n",
             "* #9 FETCH (X-GM-LABELS (\"\\x5cImportant\" work) UID 20 X-GM-MSGID "
             "1278455344230334865)"),
	CASE("quoted-utf8", "* LIST () \"/\" \"Entw\xc3\xbcrfe\"\r\n",
             "* LIST () \"/\" \"Entw\\xc3\\xbcrfe\""),
	CASE("nil-any-case", "* 10 FETCH (ENVELOPE (nil \"s\" NiL))\r\n",
             "* #10 FETCH (ENVELOPE (NIL \"s\" NIL))"),
	CASE("back-to-back", "* 1 EXISTS\r\n* 1 RECENT\r\nA2 OK [READ-WRITE] done\r\n",
             "* #1 EXISTS\n* #1 RECENT\ntag=A2 OK status=OK [READ-WRITE] text=\"done\""),
	CASE("bare-lf", "* 3 EXISTS\nA1 OK done\n",
             "* #3 EXISTS\ntag=A1 OK status=OK text=\"done\""),
	CASE("incomplete-literal", "* 1 FETCH (BODY[] {5}\r\nhel", "MORE"),
	CASE("incomplete-line", "* 1 EXISTS\r\nA1 OK do", "* #1 EXISTS\nMORE"),
};

/* Each expects exactly this error, at every split point too. */
static const struct parse_case bad_cases[] = {
	CASE("garbage-before-tag",
             "\x01"
             "A1 OK done\r\n",
             "ERROR: unexpected byte 0x01 at start of response"),
	CASE("tag-without-space", "A1OK\r\n", "ERROR: missing space after tag"),
	CASE("tag-alone", "A1\r\n", "ERROR: missing space after tag"),
	CASE("star-without-space", "*OK\r\n", "ERROR: missing space after *"),
	CASE("double-space", "A1  OK hi\r\n", "ERROR: missing response name"),
	CASE("empty-line", "\r\n", "ERROR: empty response line"),
	CASE("no-name", "* \r\n", "ERROR: missing response name"),
	CASE("number-alone", "* 5\r\n", "ERROR: missing space after message number"),
	CASE("number-too-big", "* 4294967296 EXISTS\r\n",
             "ERROR: message number larger than 4294967295"),
	CASE("number-status", "* 5 OK hi\r\n", "ERROR: status response OK with a message number"),
	CASE("tagged-no-status", "A1 FOO bar\r\n", "ERROR: tagged response without status"),
	CASE("unbalanced-close", "* LIST (\\Noselect)) \"/\" foo\r\n",
             "ERROR: unexpected ) outside a list"),
	CASE("unterminated-list", "* LIST (\\Noselect \"/\" foo\r\n",
             "ERROR: unterminated list at end of line"),
	CASE("literal-not-number", "* 1 FETCH (BODY[] {abc}\r\n",
             "ERROR: literal size is not a number"),
	CASE("literal-unterminated", "* X {5\r\n", "ERROR: unterminated literal header"),
	CASE("literal-no-crlf", "* 1 FETCH (BODY[] {5}x\r\nhello)\r\n",
             "ERROR: literal header not followed by CRLF"),
	CASE("literal-huge", "* X {99999999999999999999}\r\n",
             "ERROR: literal size larger than 2^63-1"),
	CASE("literal-over-cap", "* 1 FETCH (BODY[] {2000000}\r\nabc",
             "ERROR: literal of 2000000 bytes exceeds the 1048576-byte limit"),
	CASE("literal-then-garbage", "* 1 FETCH (BODY[] {5}\r\nhellox)\r\n",
             "ERROR: unexpected character 'x' where a space must separate arguments"),
	CASE("quoted-bare-cr", "* LIST () \"/\" \"a\rb\"\r\n",
             "ERROR: CR without LF in response line"),
	CASE("text-bare-cr", "A1 OK\rfoo\r\n", "ERROR: CR without LF in response line"),
	CASE("quoted-unterminated", "* SEARCH \"abc\r\n", "ERROR: unterminated quoted string"),
	CASE("quoted-bad-escape", "* SEARCH \"a\\qb\"\r\n",
             "ERROR: unexpected character 'q' in quoted string escape"),
	CASE("quoted-adjacent", "* X \"a\"\"b\"\r\n",
             "ERROR: unexpected character '\"' where a space must separate arguments"),
	CASE("code-unterminated", "* OK [ALERT hello\r\n", "ERROR: unterminated response code"),
	CASE("code-empty", "* OK [] x\r\n", "ERROR: response code without a name"),
	CASE("code-list-unterminated", "* OK [X (a] b\r\n",
             "ERROR: unterminated list in response code"),
	CASE("backslash-inside-atom", "* FLAGS (\\Seen\\Draft)\r\n",
             "ERROR: unexpected character '\\' in atom"),
	CASE("bracket-unterminated", "* X [abc\r\n", "ERROR: unterminated [ in atom"),
	CASE("list-then-atom", "* X (a)b\r\n",
             "ERROR: unexpected character 'b' where a space must separate arguments"),
	CASE("nul-in-line", "* X a\0b\r\n", "ERROR: NUL byte in response line"),
	CASE("name-then-paren", "* FLAGS(\\Seen)\r\n",
             "ERROR: unexpected character '(' after response name"),
	CASE("status-then-bracket", "* OK[ALERT] hi\r\n",
             "ERROR: unexpected character '[' after status name"),
	CASE("error-after-good", "* OK x\r\n\x80garbage\r\n",
             "* OK status=OK text=\"x\"\nERROR: unexpected byte 0x80 at start of response"),
};

#endif
