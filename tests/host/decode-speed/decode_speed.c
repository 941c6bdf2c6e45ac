// SPDX-License-Identifier: GPL-2.0
/*
 * decode_speed: the C side of the host decoding benchmark
 * (tests/host/decode-speed.test.ts). Walks ring-buffer pages of ftrace
 * print events the way a C consumer would, to measure what the TypeScript
 * cursor costs against it.
 *
 *   decode_speed <pages-file> <page-size> walk|full|dump <passes>
 *
 * The pages are a 64-bit little-endian kernel's (u64 time stamp @0, u64
 * commit @8, data @16); the print event is 6.1's: common_type u16 @0,
 * common_flags u8 @2, common_preempt_count u8 @3, common_pid s32 @4,
 * ip u64 @8, buf char[] @16 to the end of the record.
 *
 *   walk  the event headers only: time stamps, payload offsets and lengths
 *   full  walk + every field: the common ones, ip, and buf up to its NUL
 *   dump  one line per event: "ts type flags preempt pid ip buf"
 *
 * walk and full run <passes> times over the file and print one JSON line:
 * {"mode", "events" (per pass), "passes", "ns" (all passes), "checksum"}.
 * Exit 0, 2 on usage, 1 when the file cannot be read or a page is malformed.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TYPE_LEN_MAX_DATA 28
#define TYPE_PADDING 29
#define TYPE_TIME_EXTEND 30
#define TYPE_TIME_STAMP 31
#define PAGE_DATA 16
#define COMMIT_MASK 0x3fffffffULL
#define TS_MSB (0xf8ULL << 56)

enum mode { WALK, FULL, DUMP };

struct sums {
	uint64_t events;
	uint64_t checksum;
};

static uint32_t u32_at(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t u64_at(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void fail(const char *what)
{
	fprintf(stderr, "decode_speed: %s\n", what);
	exit(1);
}

static void use_event(struct sums *s, enum mode mode, uint64_t ts,
		      const unsigned char *body, uint32_t length)
{
	uint64_t ip;
	size_t text;

	s->events++;
	if (mode == WALK) {
		s->checksum += ts + length;
		return;
	}
	if (length < 16)
		fail("an event shorter than a print event");
	ip = u64_at(body + 8);
	text = strnlen((const char *)body + 16, length - 16);
	if (mode == DUMP) {
		printf("%llu %u %u %u %d %llu %.*s\n", (unsigned long long)ts,
		       (unsigned int)(body[0] | body[1] << 8), body[2], body[3],
		       (int32_t)u32_at(body + 4), (unsigned long long)ip,
		       (int)text, (const char *)body + 16);
		return;
	}
	s->checksum += ts + (body[0] | body[1] << 8) + body[2] + body[3] +
		       (uint64_t)(int64_t)(int32_t)u32_at(body + 4) + ip + text +
		       (text ? body[16] : 0);
}

static void walk_page(struct sums *s, enum mode mode, const unsigned char *page, size_t page_size)
{
	uint64_t ts = u64_at(page), commit = u64_at(page + 8) & COMMIT_MASK;
	const unsigned char *data = page + PAGE_DATA;
	size_t at = 0;

	if (commit > page_size - PAGE_DATA)
		fail("commit beyond the page");
	while (at + 4 <= commit) {
		uint32_t header = u32_at(data + at), type_len = header & 0x1f, delta = header >> 5;
		uint32_t length;

		if (type_len == TYPE_PADDING) {
			if (!delta)
				break;
			at += 4 + u32_at(data + at + 4);
			continue;
		}
		if (type_len == TYPE_TIME_EXTEND || type_len == TYPE_TIME_STAMP) {
			uint64_t stamp = ((uint64_t)u32_at(data + at + 4) << 27) + delta;

			if (type_len == TYPE_TIME_EXTEND) {
				ts += stamp;
			} else if (ts & TS_MSB) {
				uint64_t fixed = stamp | (ts & TS_MSB);

				ts = fixed < ts ? fixed + (1ULL << 59) : fixed;
			} else {
				ts = stamp;
			}
			at += 8;
			continue;
		}
		ts += delta;
		if (type_len == 0) {
			length = u32_at(data + at + 4) - 4;
			use_event(s, mode, ts, data + at + 8, length);
			at += 8 + length;
		} else {
			length = type_len * 4;
			use_event(s, mode, ts, data + at + 4, length);
			at += 4 + length;
		}
	}
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv)
{
	struct sums s = { 0, 0 };
	unsigned char *pages;
	size_t page_size, size, i;
	long passes, pass;
	uint64_t start, events;
	enum mode mode;
	FILE *f;

	if (argc != 5 || (page_size = strtoul(argv[2], NULL, 10)) < 64 || (passes = atol(argv[4])) < 1) {
		fprintf(stderr, "usage: decode_speed <pages-file> <page-size> walk|full|dump <passes>\n");
		return 2;
	}
	if (!strcmp(argv[3], "walk"))
		mode = WALK;
	else if (!strcmp(argv[3], "full"))
		mode = FULL;
	else if (!strcmp(argv[3], "dump"))
		mode = DUMP;
	else {
		fprintf(stderr, "decode_speed: unknown mode %s (walk, full, dump)\n", argv[3]);
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f || fseek(f, 0, SEEK_END) || (long)(size = (size_t)ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		fail("cannot read the pages file");
	if (size % page_size)
		fail("the pages file is not a whole number of pages");
	pages = malloc(size);
	if (!pages || fread(pages, 1, size, f) != size)
		fail("cannot read the pages file");
	fclose(f);
	if (mode == DUMP)
		passes = 1;
	start = now_ns();
	for (pass = 0; pass < passes; pass++)
		for (i = 0; i < size; i += page_size)
			walk_page(&s, mode, pages + i, page_size);
	events = s.events / (uint64_t)passes;
	if (mode != DUMP)
		printf("{\"mode\":\"%s\",\"events\":%llu,\"passes\":%ld,\"ns\":%llu,\"checksum\":\"%llu\"}\n",
		       argv[3], (unsigned long long)events, passes,
		       (unsigned long long)(now_ns() - start), (unsigned long long)s.checksum);
	free(pages);
	return 0;
}
