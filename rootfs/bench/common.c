// SPDX-License-Identifier: GPL-2.0
/*
 * rbmap-bench, what every part uses: errors, the tracefs files read (the
 * print event's format, the page header, a CPU's stats), CPU pinning, clocks,
 * and the count of the markers a reader sees.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rbmap_bench.h"

long page_size;
unsigned int print_type;
unsigned int print_buf_offset;
unsigned int page_data_offset;

void die(const char *fmt, ...)
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

char *read_text(const char *path, char *buf, size_t size)
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

void read_formats(void)
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

uint64_t overrun_of(int cpu)
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

void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity to cpu%d", cpu);
}

uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void see_marker(struct counts *c, const unsigned char *text, size_t len)
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
