// SPDX-License-Identifier: GPL-2.0
/*
 * rbmap-bench, the tep-mmap walk: what a reader built on Debian's
 * libtraceevent, the library of the RFC's demo, does with a handed-over page.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include <event-parse.h>
#include <kbuffer.h>

#include "rbmap_bench.h"

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

void read_tep_formats(void)
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
void walk_page_tep(struct counts *c, const unsigned char *page, uint32_t from, uint32_t end)
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
