// SPDX-License-Identifier: GPL-2.0
/*
 * rbmap-bench, the writer: markers of a given size to trace_marker, at a
 * given rate, from a given CPU.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rbmap_bench.h"

uint64_t writer(int cpu, double seconds, uint64_t rate, size_t event_bytes)
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
