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
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event-parse.h>
#include <kbuffer.h>

#define TRACEFS "/sys/kernel/tracing"
#define GET_READER_PAGE _IO('T', 0x1)

/* Ring-buffer event types (include/linux/ring_buffer.h) */
#define TYPE_LEN_MAX_DATA 28
#define TYPE_PADDING 29
#define TYPE_TIME_EXTEND 30
#define TYPE_TIME_STAMP 31

/* Commit-word flags of a page (kernel/trace/ring_buffer.c) */
#define PAGE_FLAGS_MASK ((1UL << 31) | (1UL << 30))

/* struct ring_buffer_meta_page (meta page v2): data_pages[] at meta_struct_len */
struct meta_page {
	uint64_t entries;
	uint64_t overrun;
	uint32_t pages_touched;
	uint32_t reader_page;
	uint32_t nr_data_pages;
	uint32_t data_page_head;
	uint32_t meta_page_size;
	uint32_t meta_struct_len;
	uint32_t reader_read;
	uint32_t flags;
	uint64_t reader_lost_events;
	uint64_t read;
};

struct counts {
	uint64_t events;	/* marker events seen */
	uint64_t payload;	/* bytes of every event walked, headers included */
	uint64_t pages;		/* pages (or page parts) consumed */
	uint64_t wakeups;	/* poll() returns with the buffer readable */
	uint64_t poll_ns;	/* time spent in poll(), asleep or not */
	uint64_t longest_poll_ns;
	uint64_t next_seq;	/* the sequence number expected next */
	uint64_t missing;	/* sequence numbers skipped */
	uint64_t out_of_order;
	uint64_t sum;		/* every byte added up: the data was touched */
};

static long page_size;
static unsigned int print_type;		/* events/ftrace/print ID */
static unsigned int print_buf_offset;	/* offset of buf[] in the event */
static unsigned int page_data_offset;	/* offset of data in a page */

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("rbmap-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	if (errno)
		fprintf(stderr, ": %s", strerror(errno));
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static char *read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		die("open %s", path);
	n = read(fd, buf, size - 1);
	if (n < 0)
		die("read %s", path);
	buf[n] = '\0';
	close(fd);
	return buf;
}

/* "field:<decl>;\toffset:N;" of the field whose declaration contains @name */
static unsigned int field_offset(const char *format, const char *name)
{
	const char *at = strstr(format, name);
	const char *off;

	errno = 0;
	if (!at || !(off = strstr(at, "offset:")))
		die("no field '%s' in a tracefs format file", name);
	return (unsigned int)strtoul(off + strlen("offset:"), NULL, 10);
}

static void read_formats(void)
{
	char buf[4096];
	const char *id;

	read_text(TRACEFS "/events/ftrace/print/format", buf, sizeof(buf));
	id = strstr(buf, "ID: ");
	errno = 0;
	if (!id)
		die("no ID in events/ftrace/print/format");
	print_type = (unsigned int)strtoul(id + 4, NULL, 10);
	print_buf_offset = field_offset(buf, "buf[]");
	read_text(TRACEFS "/events/header_page", buf, sizeof(buf));
	page_data_offset = field_offset(buf, " data;");
}

static uint64_t overrun_of(int cpu)
{
	char path[128], buf[1024];
	const char *at;

	snprintf(path, sizeof(path), TRACEFS "/per_cpu/cpu%d/stats", cpu);
	at = strstr(read_text(path, buf, sizeof(buf)), "overrun: ");
	errno = 0;
	if (!at)
		die("no overrun in %s", path);
	return strtoull(at + strlen("overrun: "), NULL, 10);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity to cpu%d", cpu);
}

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void see_marker(struct counts *c, const unsigned char *text, size_t len)
{
	uint64_t seq;

	if (len < 6 || memcmp(text, "rbmb ", 5) != 0)
		return;
	seq = strtoull((const char *)text + 5, NULL, 10);
	c->events++;
	if (seq > c->next_seq)
		c->missing += seq - c->next_seq;
	else if (seq < c->next_seq)
		c->out_of_order++;
	if (seq >= c->next_seq)
		c->next_seq = seq + 1;
}

/*
 * Walk the events of one page from byte @from (relative to the data) to
 * @commit; returns where the walk stopped.
 */
static size_t walk_events(struct counts *c, const unsigned char *data, size_t from, size_t commit)
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
static int consume_read(int fd, struct counts *c, unsigned char *buf)
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

static int pipefd[2];

static int consume_splice(int fd, struct counts *c, unsigned char *buf)
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

static const unsigned char *map_base;
static const struct meta_page *meta;
static size_t meta_size;	/* meta_page_size: page ID n is at meta_size + n * page_size */

/*
 * GET_READER_PAGE hands over the data bytes [*start, *end) of the reader
 * page: start is the reader_read seen before the call if the page is the
 * same, else 0. Returns the page, or NULL when there was nothing to hand over.
 */
static const unsigned char *take_handover(int fd, uint32_t *start, uint32_t *end)
{
	uint32_t id = __atomic_load_n(&meta->reader_page, __ATOMIC_ACQUIRE);
	uint32_t room = (uint32_t)page_size - page_data_offset;
	uint32_t handed;

	*start = __atomic_load_n(&meta->reader_read, __ATOMIC_ACQUIRE);
	if (ioctl(fd, GET_READER_PAGE) < 0) {
		if (errno == EAGAIN)
			return NULL;
		die("GET_READER_PAGE");
	}
	handed = __atomic_load_n(&meta->reader_page, __ATOMIC_ACQUIRE);
	if (handed != id) {
		id = handed;
		*start = 0;
	}
	*end = __atomic_load_n(&meta->reader_read, __ATOMIC_ACQUIRE);
	if (*end > room)
		*end = room;
	errno = 0;
	if (id > meta->nr_data_pages)
		die("reader page ID %u is not in the mapping", id);
	return map_base + meta_size + (size_t)id * (size_t)page_size;
}

/* mmap: this program's own walk of the handed-over bytes */
static void walk_handover(struct counts *c, const unsigned char *page, uint32_t start, uint32_t end)
{
	walk_events(c, page + page_data_offset, start, end);
	c->pages++;
}

/* How the mapping's readers walk a handover: walk_handover, or walk_page_tep for tep-mmap */
static void (*walk_mapped)(struct counts *c, const unsigned char *page, uint32_t start, uint32_t end) = walk_handover;

static int consume_mmap(int fd, struct counts *c, unsigned char *buf)
{
	const unsigned char *page;
	uint32_t start, end;

	(void)buf;
	page = take_handover(fd, &start, &end);
	if (!page)
		return 0;
	walk_mapped(c, page, start, end);
	return 1;
}

/* tep-mmap: libtraceevent's event parser and kbuffer on the mapped pages */
static struct tep_handle *tep;
static struct kbuffer *kbuf;
static int print_id;			/* the ftrace/print event's ID, as libtraceevent read it */
static struct tep_format_field *print_buf;	/* its buf[] field */

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HOST_ENDIAN TEP_BIG_ENDIAN
#else
#define HOST_ENDIAN TEP_LITTLE_ENDIAN
#endif

static void read_tep_formats(void)
{
	enum tep_endian endian = HOST_ENDIAN;
	struct tep_event *print;
	static char buf[16384];
	enum tep_errno ret;
	char why[256];
	size_t len;
	int commit;

	errno = 0;
	tep = tep_alloc();
	if (!tep)
		die("tep_alloc");
	tep_set_long_size(tep, (int)sizeof(long));
	tep_set_page_size(tep, (int)page_size);
	tep_set_file_bigendian(tep, endian);
	tep_set_local_bigendian(tep, endian);

	len = strlen(read_text(TRACEFS "/events/header_page", buf, sizeof(buf)));
	errno = 0;
	if (tep_parse_header_page(tep, buf, len, (int)sizeof(long)))
		die("libtraceevent cannot parse events/header_page");
	commit = tep_get_header_page_size(tep);
	if (commit != 4 && commit != 8)
		die("events/header_page: a commit word of %d bytes", commit);
	page_data_offset = (unsigned int)(tep_get_header_timestamp_size(tep) + commit);
	if (tep_get_sub_buffer_size(tep) != page_size)
		die("events/header_page: sub-buffers of %d bytes, not one page (%ld)",
		    tep_get_sub_buffer_size(tep), page_size);

	len = strlen(read_text(TRACEFS "/events/ftrace/print/format", buf, sizeof(buf)));
	ret = tep_parse_event(tep, buf, len, "ftrace");
	errno = 0;
	if (ret) {
		tep_strerror(tep, ret, why, sizeof(why));
		die("libtraceevent cannot parse events/ftrace/print/format (%s)", why);
	}
	print = tep_find_event_by_name(tep, "ftrace", "print");
	print_buf = print ? tep_find_field(print, "buf") : NULL;
	if (!print_buf)
		die("no ftrace/print event with a buf field");
	print_id = print->id;

	errno = 0;
	kbuf = kbuffer_alloc(commit == 8 ? KBUFFER_LSIZE_8 : KBUFFER_LSIZE_4,
			     endian == TEP_BIG_ENDIAN ? KBUFFER_ENDIAN_BIG :
							KBUFFER_ENDIAN_LITTLE);
	if (!kbuf)
		die("kbuffer_alloc");
}

/*
 * Walk the events of a page with the kbuffer, from byte @from to @end of the
 * data (as reader_read counts).
 *
 * kbuffer_curr_offset() counts from the start of the page that
 * kbuffer_load_subbuffer() got, its header (time stamp and commit word)
 * included, so the first event is never at 0; kbuffer_curr_index() counts
 * from the data after that header, as reader_read does. The offset is that
 * of the current event's own header: a time extend or time stamp before it
 * is passed over by the kbuffer and belongs to no event, as padding does.
 * kbuffer_curr_size() is that header and the payload, kbuffer_event_size()
 * the payload alone.
 *
 * Events that start before @from were handed over earlier. The walk stops at
 * @end: past it, the writer may still be adding events to the page (the
 * page's commit word, which the kbuffer goes by, then runs ahead of
 * reader_read), and those are handed over next time.
 */
static void walk_page_tep(struct counts *c, const unsigned char *page, uint32_t from, uint32_t end)
{
	static int checked;
	unsigned long long ts;
	unsigned char *data;

	errno = 0;
	/* The kbuffer only reads the page (the mapping is read-only) */
	if (kbuffer_load_subbuffer(kbuf, (void *)page))
		die("kbuffer_load_subbuffer");
	for (data = kbuffer_read_event(kbuf, &ts); data;
	     data = kbuffer_next_event(kbuf, &ts)) {
		unsigned int at = (unsigned int)kbuffer_curr_offset(kbuf) - page_data_offset;
		unsigned int size = (unsigned int)kbuffer_curr_size(kbuf);
		struct tep_record record = {
			.ts = ts,
			.data = data,
			.size = kbuffer_event_size(kbuf),
		};
		int i;

		if (!checked) {
			errno = 0;
			if (kbuffer_curr_offset(kbuf) - kbuffer_curr_index(kbuf) !=
			    (int)page_data_offset)
				die("the kbuffer and events/header_page disagree on where the data starts");
			checked = 1;
		}
		if (at + size > end)
			break;
		if (at < from)
			continue;
		for (i = 0; i < record.size; i++)
			c->sum += data[i];
		c->payload += size;
		if (record.size > print_buf->offset && tep_data_type(tep, &record) == print_id)
			see_marker(c, data + print_buf->offset,
				   (size_t)(record.size - print_buf->offset));
		/* Do not let the kbuffer look at what is not handed over */
		if (at + size == end)
			break;
	}
	c->pages++;
}

static void map_ring(int fd)
{
	const struct meta_page *first = mmap(NULL, (size_t)page_size, PROT_READ, MAP_SHARED, fd, 0);
	size_t length;
	void *m;

	if (first == MAP_FAILED)
		die("mmap the meta page");
	meta_size = first->meta_page_size;
	length = meta_size + (size_t)(first->nr_data_pages + 1) * (size_t)page_size;
	munmap((void *)first, (size_t)page_size);
	errno = 0;
	if (!meta_size || meta_size % (size_t)page_size)
		die("meta_page_size %zu is not a whole number of pages", meta_size);
	m = mmap(NULL, length, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		die("mmap the ring");
	map_base = m;
	meta = m;
}

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

static uint64_t writer(int cpu, double seconds, uint64_t rate, size_t event_bytes)
{
	int fd = open(TRACEFS "/trace_marker", O_WRONLY);
	uint64_t start = now_ns(CLOCK_MONOTONIC), end = start + (uint64_t)(seconds * 1e9);
	uint64_t written = 0;
	char *text = malloc(event_bytes + 1);

	if (fd < 0 || !text)
		die("open trace_marker");
	pin(cpu);
	memset(text, 'x', event_bytes);
	for (;;) {
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		uint64_t due;
		int n;

		if (now >= end)
			break;
		due = rate ? (now - start) * rate / 1000000000ULL + 1 : written + 64;
		if (written >= due) {
			struct timespec pause = { 0, 200000 };

			nanosleep(&pause, NULL);
			continue;
		}
		while (written < due) {
			n = snprintf(text, event_bytes + 1, "rbmb %llu ", (unsigned long long)written);
			if ((size_t)n < event_bytes)
				text[n] = 'x';
			if (write(fd, text, event_bytes) < 0) {
				if (errno == EBADF)
					continue;	/* recording off for a moment */
				die("write trace_marker");
			}
			written++;
		}
	}
	return written;
}

int main(int argc, char **argv)
{
	int (*consume)(int, struct counts *, unsigned char *);
	int writer_cpu, reader_cpu, status, fd, done = 0, report[2];
	uint64_t rate, overrun_before, overrun_after, written = 0, wall;
	struct counts c = { 0 };
	struct rusage before, after;
	size_t event_bytes;
	unsigned char *buf;
	double seconds;
	char path[128];
	pid_t child;

	if (argc == 6 && !strcmp(argv[1], "write")) {
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
	if (argc != 7) {
		fprintf(stderr, "usage: rbmap-bench <read|splice|mmap|tep-mmap> <writer-cpu> <reader-cpu> <seconds> <rate> <event-bytes>\n"
				"       rbmap-bench write <writer-cpu> <seconds> <rate> <event-bytes>\n");
		return 2;
	}
	if (!strcmp(argv[1], "read"))
		consume = consume_read;
	else if (!strcmp(argv[1], "splice"))
		consume = consume_splice;
	else if (!strcmp(argv[1], "mmap") || !strcmp(argv[1], "tep-mmap"))
		consume = consume_mmap;
	else {
		fprintf(stderr, "rbmap-bench: unknown method %s (read, splice, mmap, tep-mmap)\n", argv[1]);
		return 2;
	}
	writer_cpu = atoi(argv[2]);
	reader_cpu = atoi(argv[3]);
	seconds = atof(argv[4]);
	rate = strtoull(argv[5], NULL, 10);
	event_bytes = strtoul(argv[6], NULL, 10);
	if (seconds <= 0 || event_bytes < 16 || event_bytes > 1000) {
		fprintf(stderr, "rbmap-bench: seconds must be > 0, event-bytes 16..1000\n");
		return 2;
	}

	page_size = sysconf(_SC_PAGESIZE);
	read_formats();
	buf = malloc((size_t)page_size);
	if (!buf || pipe(pipefd) || pipe(report))
		die("setup");
	pin(reader_cpu);
	snprintf(path, sizeof(path), TRACEFS "/per_cpu/cpu%d/trace_pipe_raw", writer_cpu);
	fd = open(path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		die("open %s", path);
	if (!strcmp(argv[1], "tep-mmap")) {
		read_tep_formats();
		walk_mapped = walk_page_tep;
	}
	if (consume == consume_mmap)
		map_ring(fd);
	/* Start from an empty buffer: only what is written from now on counts */
	drain(consume, fd, &c, buf);
	memset(&c, 0, sizeof(c));
	overrun_before = overrun_of(writer_cpu);

	wall = now_ns(CLOCK_MONOTONIC);
	getrusage(RUSAGE_SELF, &before);
	child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		written = writer(writer_cpu, seconds, rate, event_bytes);
		if (write(report[1], &written, sizeof(written)) != sizeof(written))
			die("report to the reader");
		_exit(0);
	}
	close(report[1]);
	while (!done) {
		struct pollfd p[2] = { { fd, POLLIN, 0 }, { report[0], POLLIN, 0 } };
		uint64_t polled = now_ns(CLOCK_MONOTONIC);

		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			die("poll");
		polled = now_ns(CLOCK_MONOTONIC) - polled;
		c.poll_ns += polled;
		if (polled > c.longest_poll_ns)
			c.longest_poll_ns = polled;
		if (p[0].revents & POLLIN)
			c.wakeups++;
		while (consume(fd, &c, buf))
			;
		if (p[1].revents) {
			if (read(report[0], &written, sizeof(written)) != sizeof(written))
				die("the writer's report");
			done = 1;
		}
	}
	/*
	 * What the writer left behind. splice() only moves whole pages: the
	 * last, partly filled one is read().
	 */
	drain(consume, fd, &c, buf);
	if (consume == consume_splice)
		drain(consume_read, fd, &c, buf);
	getrusage(RUSAGE_SELF, &after);
	wall = now_ns(CLOCK_MONOTONIC) - wall;
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		die("the writer failed");
	overrun_after = overrun_of(writer_cpu);

	printf("{\"method\":\"%s\",\"rate\":%llu,\"seconds\":%g,\"eventBytes\":%zu,"
	       "\"written\":%llu,\"consumed\":%llu,\"missing\":%llu,\"outOfOrder\":%llu,"
	       "\"overrun\":%llu,\"payloadBytes\":%llu,\"pages\":%llu,\"wakeups\":%llu,"
	       "\"pollUs\":%llu,\"longestPollUs\":%llu,"
	       "\"userUs\":%lld,\"systemUs\":%lld,\"wallUs\":%llu,\"checksum\":%llu}\n",
	       argv[1], (unsigned long long)rate, seconds, event_bytes,
	       (unsigned long long)written, (unsigned long long)c.events,
	       (unsigned long long)(written > c.next_seq ? c.missing + written - c.next_seq : c.missing),
	       (unsigned long long)c.out_of_order,
	       (unsigned long long)(overrun_after - overrun_before),
	       (unsigned long long)c.payload, (unsigned long long)c.pages, (unsigned long long)c.wakeups,
	       (unsigned long long)(c.poll_ns / 1000), (unsigned long long)(c.longest_poll_ns / 1000),
	       (long long)((after.ru_utime.tv_sec - before.ru_utime.tv_sec) * 1000000LL +
			   (after.ru_utime.tv_usec - before.ru_utime.tv_usec)),
	       (long long)((after.ru_stime.tv_sec - before.ru_stime.tv_sec) * 1000000LL +
			   (after.ru_stime.tv_usec - before.ru_stime.tv_usec)),
	       (unsigned long long)(wall / 1000), (unsigned long long)c.sum);
	return 0;
}
