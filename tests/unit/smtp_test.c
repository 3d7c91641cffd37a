/* The SMTP reply parser and the server spec, table by table. */
#include "../../libbox/box.h"
#include "unit.h"

#include <string.h>

UNIT_GROUP(smtp_reply, "smtp")
{
	static const struct {
		const char *line;
		int code, complete;        /* code -1: malformed */
	} cases[] = {
		{ "220 mail.example.com ESMTP ready", 220, 1 },
		{ "250-mail.example.com", 250, 0 },
		{ "250-PIPELINING", 250, 0 },
		{ "250 HELP", 250, 1 },
		{ "250", 250, 1 },
		{ "354 End data with <CR><LF>.<CR><LF>", 354, 1 },
		{ "421 4.4.2 closing", 421, 1 },
		{ "550 5.1.1 <nobody@example.com>: Recipient address rejected", 550, 1 },
		{ "599 last code", 599, 1 },
		{ "250 ", 250, 1 },
		{ "250-", 250, 0 },
		{ "", -1, 0 },
		{ "25", -1, 0 },
		{ "199 too low", -1, 0 },
		{ "600 too high", -1, 0 },
		{ "099 leading zero", -1, 0 },
		{ "2a0 letter", -1, 0 },
		{ "25x ok", -1, 0 },
		{ "250x", -1, 0 },
		{ "250\tOK", -1, 0 },
		{ " 250 OK", -1, 0 },
		{ "2500 OK", -1, 0 },
	};
	for (size_t i = 0; i < BOX_ARRAY_LEN(cases); i++) {
		int complete = -1;
		int code = box_smtp_parse_reply(cases[i].line, strlen(cases[i].line), &complete);
		CHECK(code == cases[i].code);
		if (code != cases[i].code)
			fprintf(stderr, "  '%s': %d, want %d\n", cases[i].line, code, cases[i].code);
		if (code >= 0)
			CHECK(complete == cases[i].complete);
	}
	/* only len bytes are read: a line cut from a longer buffer */
	int complete = 0;
	CHECK(box_smtp_parse_reply("250-more", 3, &complete) == 250 && complete);

	static const struct {
		const char *spec, *host, *port;
		int result;
	} servers[] = {
		{ "127.0.0.1:25", "127.0.0.1", "25", BOX_PARSE_OK },
		{ "mail.example.com", "mail.example.com", NULL, BOX_PARSE_OK },
		{ "[::1]:2525", "::1", "2525", BOX_PARSE_OK },
		{ "[::1]", "::1", NULL, BOX_PARSE_OK },
		{ "localhost:65535", "localhost", "65535", BOX_PARSE_OK },
		{ "localhost:0", "localhost", "0", BOX_PARSE_RANGE },
		{ "localhost:65536", "localhost", "65536", BOX_PARSE_RANGE },
		{ "localhost:", "localhost", "", BOX_PARSE_RANGE },
		{ "[::1]:smtp", "::1", "smtp", BOX_PARSE_RANGE },
		{ "", NULL, NULL, BOX_PARSE_INVALID },
		{ ":25", NULL, NULL, BOX_PARSE_INVALID },
		{ "::1", NULL, NULL, BOX_PARSE_INVALID },
		{ "[::1", NULL, NULL, BOX_PARSE_INVALID },
		{ "[]:25", NULL, NULL, BOX_PARSE_INVALID },
		{ "[::1]x", NULL, NULL, BOX_PARSE_INVALID },
	};
	for (size_t i = 0; i < BOX_ARRAY_LEN(servers); i++) {
		char host[256] = "";
		const char *port = NULL;
		int r = box_smtp_parse_server(servers[i].spec, host, sizeof(host), &port);
		CHECK(r == servers[i].result);
		if (r != servers[i].result)
			fprintf(stderr, "  '%s': %d, want %d\n", servers[i].spec, r, servers[i].result);
		if (r == BOX_PARSE_INVALID)
			continue;
		CHECK(!strcmp(host, servers[i].host));
		CHECK(servers[i].port ? port && !strcmp(port, servers[i].port) : !port);
	}

	static const struct {
		const char *addr;
		int valid;
	} addrs[] = {
		{ "a@example.com", 1 }, { "first.last+tag@sub.example.org", 1 },
		{ "nobody", 0 }, { "@example.com", 0 }, { "a@", 0 }, { "a b@example.com", 0 },
		{ "a@b@c", 0 }, { "<a@example.com>", 0 }, { "a@exa\"mple.com", 0 },
		{ "a@example.com\r\nRCPT TO:<b@c>", 0 },
	};
	for (size_t i = 0; i < BOX_ARRAY_LEN(addrs); i++)
		CHECK(box_smtp_valid_address(addrs[i].addr) == addrs[i].valid);
}

/* RFC 4648's test vectors, and the AUTH PLAIN response of RFC 4954. */
UNIT_GROUP(base64, "smtp")
{
	static const char *const vectors[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	for (size_t i = 0; i < BOX_ARRAY_LEN(vectors); i++) {
		struct box_buf b = { 0 };
		box_base64(&b, vectors[i][0], strlen(vectors[i][0]));
		CHECK(!strcmp(b.p ? b.p : "", vectors[i][1]));
		box_buf_free(&b);
	}
	struct box_buf b = { 0 };
	box_base64(&b, "\0tim\0tanstaaftanstaaf", 21);
	CHECK(!strcmp(b.p, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"));
	box_buf_free(&b);
}
