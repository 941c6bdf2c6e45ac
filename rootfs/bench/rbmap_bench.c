// SPDX-License-Identifier: GPL-2.0
/*
 * rbmap-bench: one writer, one reader, one way of reading; one JSON line out.
 *
 *   rbmap-bench <read|splice|mmap|tep-mmap> <writer-cpu> <reader-cpu> <seconds> <rate> <event-bytes>
 *   rbmap-bench write <writer-cpu> <seconds> <rate> <event-bytes>
 *
 * A child pinned to <writer-cpu> writes markers of <event-bytes> characters
 * ("rbmb <sequence> xxx...") to trace_marker, <rate> per second (0: as fast as
 * it can) for <seconds>. This process, pinned to <reader-cpu>, consumes
 * per_cpu/cpu<writer-cpu>/trace_pipe_raw: waits with poll(), then read()s
 * pages, splice()s them into a pipe and reads that back, or takes them with
 * TRACE_MMAP_IOCTL_GET_READER_PAGE and reads them in place: walking the
 * events itself (mmap), or the way a reader built on Debian's libtraceevent,
 * the library of the RFC's demo, would (tep-mmap): libtraceevent parses
 * events/header_page and events/ftrace/print/format, a kbuffer walks each
 * handed-over page in place, tep_data_type() and the print event's buf
 * field find the markers. Every reader
 * walks every event and sums every byte of it, as a real-time consumer would
 * touch its data. It reports its own CPU time, what it consumed, and what was
 * lost: the overrun delta and the marker sequence numbers it never saw.
 * "write" runs the writer alone (for a reader of another language) and
 * prints {"written":N}.
 *
 * Exit codes: 0 = measured, 2 = usage, 1 = a system call failed (message on
 * stderr).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rbmap_bench.h"

/* One measurement: what the command line asks for, and what was measured */
struct bench {
	const char *method;
	int (*consume)(int fd, struct counts *c, unsigned char *buf);
	int writer_cpu, reader_cpu;
	double seconds;
	uint64_t rate;
	size_t event_bytes;

	int fd, report[2];
	unsigned char *buf;
	struct counts c;
	uint64_t written, overrun_before, overrun_after, wall;
	struct rusage before, after;
};

/*
 * Consume until the buffer stays empty: a read() can return 0 while events
 * are left (the reader page was being swapped), so one empty answer is not
 * the end.
 */
static void drain(int (*consume)(int, struct counts *, unsigned char *), int fd,
		  struct counts *c, unsigned char *buf)
{
	int idle = 0;

	while (idle < 3) {
		struct timespec pause = { 0, 1000000 };

		if (consume(fd, c, buf)) {
			idle = 0;
			continue;
		}
		idle++;
		nanosleep(&pause, NULL);
	}
}

/* "write": the writer alone, for a reader of another language */
static int write_only(char **argv)
{
	uint64_t written;
	size_t event_bytes;
	double seconds;

	seconds = atof(argv[3]);
	event_bytes = strtoul(argv[5], NULL, 10);
	if (seconds <= 0 || event_bytes < 16 || event_bytes > 1000) {
		fprintf(stderr, "rbmap-bench: seconds must be > 0, event-bytes 16..1000\n");
		return 2;
	}
	written = writer(atoi(argv[2]), seconds, strtoull(argv[4], NULL, 10), event_bytes);
	printf("{\"written\":%llu}\n", (unsigned long long)written);
	return 0;
}

/* The method and the numbers of a reader's command line; 2 (usage) when wrong */
static int parse_args(int argc, char **argv, struct bench *b)
{
	if (argc != 7) {
		fprintf(stderr, "usage: rbmap-bench <read|splice|mmap|tep-mmap> <writer-cpu> <reader-cpu> <seconds> <rate> <event-bytes>\n"
				"       rbmap-bench write <writer-cpu> <seconds> <rate> <event-bytes>\n");
		return 2;
	}
	b->method = argv[1];
	if (!strcmp(argv[1], "read"))
		b->consume = consume_read;
	else if (!strcmp(argv[1], "splice"))
		b->consume = consume_splice;
	else if (!strcmp(argv[1], "mmap") || !strcmp(argv[1], "tep-mmap"))
		b->consume = consume_mmap;
	else {
		fprintf(stderr, "rbmap-bench: unknown method %s (read, splice, mmap, tep-mmap)\n", argv[1]);
		return 2;
	}
	b->writer_cpu = atoi(argv[2]);
	b->reader_cpu = atoi(argv[3]);
	b->seconds = atof(argv[4]);
	b->rate = strtoull(argv[5], NULL, 10);
	b->event_bytes = strtoul(argv[6], NULL, 10);
	if (b->seconds <= 0 || b->event_bytes < 16 || b->event_bytes > 1000) {
		fprintf(stderr, "rbmap-bench: seconds must be > 0, event-bytes 16..1000\n");
		return 2;
	}
	return 0;
}

/* Open (and map) what the method reads, and empty it */
static void prepare(struct bench *b)
{
	char path[128];

	page_size = sysconf(_SC_PAGESIZE);
	read_formats();
	b->buf = malloc((size_t)page_size);
	if (!b->buf || pipe(pipefd) || pipe(b->report))
		die("setup");
	pin(b->reader_cpu);
	snprintf(path, sizeof(path), TRACEFS "/per_cpu/cpu%d/trace_pipe_raw", b->writer_cpu);
	b->fd = open(path, O_RDONLY | O_NONBLOCK);
	if (b->fd < 0)
		die("open %s", path);
	if (!strcmp(b->method, "tep-mmap")) {
		read_tep_formats();
		walk_mapped = walk_page_tep;
	}
	if (b->consume == consume_mmap)
		map_ring(b->fd);
	/* Start from an empty buffer: only what is written from now on counts */
	drain(b->consume, b->fd, &b->c, b->buf);
	memset(&b->c, 0, sizeof(b->c));
	b->overrun_before = overrun_of(b->writer_cpu);
}

/* Consume what the writer writes until it reports how much that was */
static void consume_while_writing(struct bench *b)
{
	struct counts *c = &b->c;
	int done = 0;

	while (!done) {
		struct pollfd p[2] = { { b->fd, POLLIN, 0 }, { b->report[0], POLLIN, 0 } };
		uint64_t polled = now_ns(CLOCK_MONOTONIC);

		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			die("poll");
		polled = now_ns(CLOCK_MONOTONIC) - polled;
		c->poll_ns += polled;
		if (polled > c->longest_poll_ns)
			c->longest_poll_ns = polled;
		if (p[0].revents & POLLIN)
			c->wakeups++;
		while (b->consume(b->fd, c, b->buf))
			;
		if (p[1].revents) {
			if (read(b->report[0], &b->written, sizeof(b->written)) != sizeof(b->written))
				die("the writer's report");
			done = 1;
		}
	}
}

/* Fork the writer, consume what it writes, and take the measures */
static void measure(struct bench *b)
{
	pid_t child;
	int status;

	b->wall = now_ns(CLOCK_MONOTONIC);
	getrusage(RUSAGE_SELF, &b->before);
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		b->written = writer(b->writer_cpu, b->seconds, b->rate, b->event_bytes);
		if (write(b->report[1], &b->written, sizeof(b->written)) != sizeof(b->written))
			die("report to the reader");
		_exit(0);
	}
	close(b->report[1]);
	consume_while_writing(b);
	/*
	 * What the writer left behind. splice() only moves whole pages: the
	 * last, partly filled one is read().
	 */
	drain(b->consume, b->fd, &b->c, b->buf);
	if (b->consume == consume_splice)
		drain(consume_read, b->fd, &b->c, b->buf);
	getrusage(RUSAGE_SELF, &b->after);
	b->wall = now_ns(CLOCK_MONOTONIC) - b->wall;
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		die("the writer failed");
	b->overrun_after = overrun_of(b->writer_cpu);
}

/* The measurement as one JSON line */
static void print_result(const struct bench *b)
{
	const struct counts *c = &b->c;
	const struct rusage *before = &b->before, *after = &b->after;
	uint64_t written = b->written;

	printf("{\"method\":\"%s\",\"rate\":%llu,\"seconds\":%g,\"eventBytes\":%zu,"
	       "\"written\":%llu,\"consumed\":%llu,\"missing\":%llu,\"outOfOrder\":%llu,"
	       "\"overrun\":%llu,\"payloadBytes\":%llu,\"pages\":%llu,\"wakeups\":%llu,"
	       "\"pollUs\":%llu,\"longestPollUs\":%llu,"
	       "\"userUs\":%lld,\"systemUs\":%lld,\"wallUs\":%llu,\"checksum\":%llu}\n",
	       b->method, (unsigned long long)b->rate, b->seconds, b->event_bytes,
	       (unsigned long long)written, (unsigned long long)c->events,
	       (unsigned long long)(written > c->next_seq ? c->missing + written - c->next_seq : c->missing),
	       (unsigned long long)c->out_of_order,
	       (unsigned long long)(b->overrun_after - b->overrun_before),
	       (unsigned long long)c->payload, (unsigned long long)c->pages, (unsigned long long)c->wakeups,
	       (unsigned long long)(c->poll_ns / 1000), (unsigned long long)(c->longest_poll_ns / 1000),
	       (long long)((after->ru_utime.tv_sec - before->ru_utime.tv_sec) * 1000000LL +
			   (after->ru_utime.tv_usec - before->ru_utime.tv_usec)),
	       (long long)((after->ru_stime.tv_sec - before->ru_stime.tv_sec) * 1000000LL +
			   (after->ru_stime.tv_usec - before->ru_stime.tv_usec)),
	       (unsigned long long)(b->wall / 1000), (unsigned long long)c->sum);
}

int main(int argc, char **argv)
{
	struct bench b = { 0 };

	if (argc == 6 && !strcmp(argv[1], "write"))
		return write_only(argv);
	if (parse_args(argc, argv, &b))
		return 2;
	prepare(&b);
	measure(&b);
	print_result(&b);
	return 0;
}
