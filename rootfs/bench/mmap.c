// SPDX-License-Identifier: GPL-2.0
/*
 * rbmap-bench, the mmap and tep-mmap methods: the ring mapped, and the pages
 * GET_READER_PAGE hands over read in place (by walk_events(), or by
 * walk_page_tep() for tep-mmap).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "rbmap_bench.h"

#define GET_READER_PAGE _IO('T', 0x1)

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
void (*walk_mapped)(struct counts *c, const unsigned char *page, uint32_t start, uint32_t end) = walk_handover;

int consume_mmap(int fd, struct counts *c, unsigned char *buf)
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

void map_ring(int fd)
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
