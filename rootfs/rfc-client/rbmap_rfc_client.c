// SPDX-License-Identifier: GPL-2.0
/*
 * rbmap-rfc-client: read a mapped per_cpu/cpuN/trace_pipe_raw the way the
 * RFC's own demo does, to prove that such a reader keeps working on the
 * series. It knows nothing newer than the RFC:
 *
 *  - libtracefs opens the file and reads the event formats;
 *  - the meta page is mapped alone, and only the RFC's fields are read
 *    (entries, overrun, pages_touched, reader_page, nr_data_pages);
 *  - the data pages are mapped in a second mapping at offset one page;
 *  - TRACE_MMAP_IOCTL_GET_READER_PAGE (_IO('T', 1)) hands a page over, and
 *    libtraceevent's kbuffer walks it from its start.
 *
 * usage: rbmap-rfc-client CPU
 *
 * Prints the RFC's meta fields, then "print: TEXT" for each trace_marker
 * event of each page handed over, until the kernel says EAGAIN. Exit 0, or
 * 1 with a message on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/types.h>

#include <event-parse.h>
#include <kbuffer.h>
#include <tracefs.h>

/* The meta page as the RFC defined it: later fields are not known here */
struct rfc_meta_page {
	__u64 entries;
	__u64 overrun;
	__u32 pages_touched;
	__u32 reader_page;
	__u32 nr_data_pages;
	__u32 data_page_head;
};

#define RFC_GET_READER_PAGE _IO('T', 0x1)

static int fail(const char *what)
{
	fprintf(stderr, "rbmap-rfc-client: %s: %s\n", what, strerror(errno));
	return 1;
}

static void print_page(struct tep_handle *tep, struct kbuffer *kbuf,
		       struct tep_event *print, struct tep_format_field *buf)
{
	struct tep_record record;
	unsigned long long ts;
	void *data;

	for (data = kbuffer_read_event(kbuf, &ts); data;
	     data = kbuffer_next_event(kbuf, &ts)) {
		memset(&record, 0, sizeof(record));
		record.ts = ts;
		record.data = data;
		record.size = kbuffer_event_size(kbuf);
		if (tep_data_type(tep, &record) != print->id)
			continue;
		printf("print: %.*s\n", (int)strnlen((char *)data + buf->offset,
						     record.size - buf->offset),
		       (char *)data + buf->offset);
	}
}

int main(int argc, char **argv)
{
	long page_size = sysconf(_SC_PAGESIZE);
	struct rfc_meta_page *meta;
	struct tep_format_field *buf;
	struct tep_event *print;
	struct tep_handle *tep;
	struct kbuffer *kbuf;
	char path[64];
	size_t data_len;
	void *data;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: rbmap-rfc-client CPU\n");
		return 1;
	}

	tep = tracefs_local_events(NULL);
	if (!tep)
		return fail("tracefs_local_events");
	print = tep_find_event_by_name(tep, "ftrace", "print");
	buf = print ? tep_find_field(print, "buf") : NULL;
	if (!buf) {
		fprintf(stderr, "rbmap-rfc-client: no ftrace/print event with a buf field\n");
		return 1;
	}
	kbuf = tep_kbuffer(tep);
	if (!kbuf)
		return fail("tep_kbuffer");

	snprintf(path, sizeof(path), "per_cpu/cpu%s/trace_pipe_raw", argv[1]);
	fd = tracefs_instance_file_open(NULL, path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fail(path);

	meta = mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd, 0);
	if (meta == MAP_FAILED)
		return fail("mmap of the meta page");

	printf("entries: %llu\n", (unsigned long long)meta->entries);
	printf("overrun: %llu\n", (unsigned long long)meta->overrun);
	printf("pages_touched: %u\n", meta->pages_touched);
	printf("reader_page: %u\n", meta->reader_page);
	printf("nr_data_pages: %u\n", meta->nr_data_pages);

	data_len = page_size * (meta->nr_data_pages + 1);
	data = mmap(NULL, data_len, PROT_READ, MAP_SHARED, fd, page_size);
	if (data == MAP_FAILED)
		return fail("mmap of the data pages");

	while (ioctl(fd, RFC_GET_READER_PAGE) == 0) {
		if (kbuffer_load_subbuffer(kbuf, (char *)data +
					   page_size * meta->reader_page))
			return fail("kbuffer_load_subbuffer");
		print_page(tep, kbuf, print, buf);
	}
	if (errno != EAGAIN)
		return fail("TRACE_MMAP_IOCTL_GET_READER_PAGE");

	munmap(data, data_len);
	munmap(meta, page_size);
	close(fd);
	tep_free(tep);
	return 0;
}
