// SPDX-License-Identifier: GPL-2.0
/*
 * rbmap_sys CPUs: pin the calling thread to one, and open and query a perf
 * event bound to one.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <linux/perf_event.h>

#include "rbmap_sys.h"

/* setAffinity(cpu): pin the calling thread to @cpu. */
napi_value js_set_affinity(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	cpu_set_t set;
	int cpu;

	if (!get_args(env, info, 1, 1, argv) || !arg_int(env, argv[0], "cpu", &cpu))
		return NULL;
	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return throw_range(env, "cpu", "a CPU number below CPU_SETSIZE");
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		return throw_errno(env, "sched_setaffinity", errno);
	return make_undefined(env);
}

/*
 * perfCpuClockOpen(cpu) -> fd: a software CPU-clock counter bound to @cpu
 * (pid -1), the kind of event whose context mutex is taken at CPU bring-up.
 */
napi_value js_perf_cpu_clock_open(napi_env env, napi_callback_info info)
{
	struct perf_event_attr attr;
	napi_value argv[1], result;
	int cpu, fd;

	if (!get_args(env, info, 1, 1, argv) || !arg_int(env, argv[0], "cpu", &cpu))
		return NULL;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = PERF_TYPE_SOFTWARE;
	attr.config = PERF_COUNT_SW_CPU_CLOCK;
	attr.disabled = 1;
	fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1,
			  PERF_FLAG_FD_CLOEXEC);
	if (fd == -1)
		return throw_errno(env, "perf_event_open", errno);
	NAPI_TRY(env, napi_create_int32(env, fd, &result));
	return result;
}

/*
 * perfEventId(fd) -> bigint: PERF_EVENT_IOC_ID, which copies the ID to user
 * memory with the event's context mutex held.
 */
napi_value js_perf_event_id(napi_env env, napi_callback_info info)
{
	napi_value argv[1], result;
	uint64_t id = 0;
	int fd;

	if (!get_args(env, info, 1, 1, argv) || !arg_fd(env, argv[0], &fd))
		return NULL;
	if (ioctl(fd, PERF_EVENT_IOC_ID, &id) == -1)
		return throw_errno(env, "ioctl(PERF_EVENT_IOC_ID)", errno);
	NAPI_TRY(env, napi_create_bigint_uint64(env, id, &result));
	return result;
}
