// SPDX-License-Identifier: GPL-2.0
/*
 * rbmap-bench, the read and splice methods: a page per read() of
 * trace_pipe_raw, or per splice() into a pipe read back. And the walk of a
 * page's events that they and the mmap method share.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "rbmap_bench.h"

/* Ring-buffer event types (include/linux/ring_buffer.h) */
#define TYPE_LEN_MAX_DATA 28
#define TYPE_PADDING 29
#define TYPE_TIME_EXTEND 30
#define TYPE_TIME_STAMP 31

/* Commit-word flags of a page (kernel/trace/ring_buffer.c) */
#define PAGE_FLAGS_MASK ((1UL << 31) | (1UL << 30))

/*
 * Walk the events of one page from byte @from (relative to the data) to
 * @commit; returns where the walk stopped.
 */
size_t walk_events(struct counts *c, const unsigned char *data, size_t from, size_t commit)
{
	size_t at = from;

	while (at + 4 <= commit) {
		uint32_t header, type_len, length;
		const unsigned char *body;
		size_t i;

		memcpy(&header, data + at, 4);
		type_len = header & 0x1f;
		if (type_len == TYPE_TIME_EXTEND || type_len == TYPE_TIME_STAMP) {
			at += 8;
			continue;
		}
		if (type_len == TYPE_PADDING) {
			uint32_t pad;

			if ((header >> 5) == 0 || at + 8 > commit)
				break; /* the rest of the page */
			memcpy(&pad, data + at + 4, 4);
			at += 4 + pad;
			continue;
		}
		if (type_len == 0) {
			if (at + 8 > commit)
				break;
			memcpy(&length, data + at + 4, 4);
			if (length < 4)
				break;
			body = data + at + 8;
			length -= 4;
		} else {
			length = type_len * 4;
			body = data + at + 4;
		}
		/* Never walk past the committed data, whatever a header says */
		if (length < 2 || (size_t)(body - data) + length > commit)
			break;
		for (i = 0; i < length; i++)
			c->sum += body[i];
		if ((unsigned int)(body[0] | (body[1] << 8)) == print_type && length > print_buf_offset)
			see_marker(c, body + print_buf_offset, length - print_buf_offset);
		c->payload += (size_t)(body - (data + at)) + length;
		at = (size_t)(body - data) + length;
	}
	return at;
}

/* The committed data length of a page, never more than its data area */
static size_t page_commit(const unsigned char *page)
{
	size_t room = (size_t)page_size - page_data_offset;
	uint64_t commit;

	memcpy(&commit, page + 8, 8);
	commit &= ~PAGE_FLAGS_MASK;
	return commit < room ? (size_t)commit : room;
}

static void walk_page(struct counts *c, const unsigned char *page)
{
	walk_events(c, page + page_data_offset, 0, page_commit(page));
	c->pages++;
}

/* read(): one page (or what is committed of it) per call; false when empty */
int consume_read(int fd, struct counts *c, unsigned char *buf)
{
	ssize_t n = read(fd, buf, (size_t)page_size);

	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n < 0)
		die("read trace_pipe_raw");
	if (n == 0)
		return 0;
	if ((size_t)n < (size_t)page_size)
		memset(buf + n, 0, (size_t)page_size - (size_t)n);
	walk_page(c, buf);
	return 1;
}

int pipefd[2];

int consume_splice(int fd, struct counts *c, unsigned char *buf)
{
	ssize_t n = splice(fd, NULL, pipefd[1], NULL, (size_t)page_size, SPLICE_F_NONBLOCK);
	ssize_t got = 0;

	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n < 0)
		die("splice trace_pipe_raw");
	if (n == 0)
		return 0;
	while (got < n) {
		ssize_t r = read(pipefd[0], buf + got, (size_t)(n - got));

		if (r <= 0)
			die("read the splice pipe");
		got += r;
	}
	walk_page(c, buf);
	return 1;
}
