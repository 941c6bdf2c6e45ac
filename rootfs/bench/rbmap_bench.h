/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of rbmap-bench share.
 *
 * rbmap_bench.c parses the command line and measures; common.c holds what
 * every part uses (errors, tracefs files, CPUs, clocks, the marker count);
 * read.c the read and splice methods and the event walk mmap shares;
 * mmap.c the mmap and tep-mmap methods' handover, tep.c the tep-mmap walk
 * with libtraceevent; writer.c the marker writer. Every .c file of this
 * folder is built into the one program.
 */
#ifndef RBMAP_BENCH_H
#define RBMAP_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TRACEFS "/sys/kernel/tracing"

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

/* common.c */
extern long page_size;
extern unsigned int print_type;		/* events/ftrace/print ID */
extern unsigned int print_buf_offset;	/* offset of buf[] in the event */
extern unsigned int page_data_offset;	/* offset of data in a page */

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
char *read_text(const char *path, char *buf, size_t size);
void read_formats(void);
uint64_t overrun_of(int cpu);
void pin(int cpu);
uint64_t now_ns(clockid_t clock);
void see_marker(struct counts *c, const unsigned char *text, size_t len);

/* read.c */
extern int pipefd[2];	/* consume_splice()'s pipe */

size_t walk_events(struct counts *c, const unsigned char *data, size_t from, size_t commit);
int consume_read(int fd, struct counts *c, unsigned char *buf);
int consume_splice(int fd, struct counts *c, unsigned char *buf);

/* mmap.c */
extern void (*walk_mapped)(struct counts *c, const unsigned char *page, uint32_t start, uint32_t end);

void map_ring(int fd);
int consume_mmap(int fd, struct counts *c, unsigned char *buf);

/* tep.c */
void read_tep_formats(void);
void walk_page_tep(struct counts *c, const unsigned char *page, uint32_t from, uint32_t end);

/* writer.c */
uint64_t writer(int cpu, double seconds, uint64_t rate, size_t event_bytes);

#endif /* RBMAP_BENCH_H */
