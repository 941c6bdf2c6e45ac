// SPDX-License-Identifier: GPL-2.0
/*
 * rbmap_sys - the system calls the rbmap guest tests need and Node.js lacks.
 *
 * A Node-API (NAPI_VERSION 8) addon. Sizes and offsets are JavaScript numbers
 * (bytes); addresses are bigints. A failed system call throws an Error whose
 * message names the call and strerror(), with the properties:
 *   code    - errno name ("EBUSY"; "E<n>" for errnos outside the table)
 *   errno   - the errno number
 *   syscall - the system call's name
 * A wrong argument throws a TypeError/RangeError with code ERR_INVALID_ARG_*.
 *
 * This file registers the module: its functions (memory.c, fd.c, cpu.c) and
 * its constants. rbmap_sys.h lists the parts.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>

#include "rbmap_sys.h"

struct int_constant {
	const char *name;
	int64_t value;
};

#define CONSTANT(c) { #c, (int64_t)(c) }

static const struct int_constant int_constants[] = {
	CONSTANT(PROT_NONE),
	CONSTANT(PROT_READ),
	CONSTANT(PROT_WRITE),
	CONSTANT(PROT_EXEC),
	CONSTANT(MAP_SHARED),
	CONSTANT(MAP_PRIVATE),
	CONSTANT(MAP_FIXED),
	CONSTANT(MADV_DONTNEED),
	CONSTANT(MADV_DOFORK),
	CONSTANT(MADV_DODUMP),
	CONSTANT(MREMAP_MAYMOVE),
	CONSTANT(MREMAP_FIXED),
	CONSTANT(MAP_ANONYMOUS),
	CONSTANT(POLLIN),
	CONSTANT(POLLPRI),
	CONSTANT(POLLOUT),
	CONSTANT(POLLERR),
	CONSTANT(POLLHUP),
	CONSTANT(POLLNVAL),
	CONSTANT(O_NONBLOCK),
	CONSTANT(O_RDONLY),
	CONSTANT(O_WRONLY),
	CONSTANT(O_RDWR),
	CONSTANT(SPLICE_F_NONBLOCK),
	CONSTANT(EAGAIN),
};

static napi_value make_constants(napi_env env)
{
	napi_value obj, v;
	size_t i;

	NAPI_TRY(env, napi_create_object(env, &obj));
	for (i = 0; i < ARRAY_SIZE(int_constants); i++) {
		NAPI_TRY(env, napi_create_int64(env, int_constants[i].value, &v));
		NAPI_TRY(env, napi_set_named_property(env, obj, int_constants[i].name, v));
	}
	NAPI_TRY(env, napi_object_freeze(env, obj));
	return obj;
}

#define METHOD(name, fn) { name, NULL, fn, NULL, NULL, NULL, napi_enumerable, NULL }

NAPI_MODULE_INIT()
{
	napi_property_descriptor props[] = {
		METHOD("mmap", js_mmap),
		METHOD("mmapRaw", js_mmap_raw),
		METHOD("munmap", js_munmap),
		METHOD("munmapRange", js_munmap_range),
		METHOD("viewOf", js_view_of),
		METHOD("mprotect", js_mprotect),
		METHOD("madvise", js_madvise),
		METHOD("mremap", js_mremap),
		METHOD("ioctl", js_ioctl),
		METHOD("ioctlErrno", js_ioctl_errno),
		METHOD("poll", js_poll),
		METHOD("pollAsync", js_poll_async),
		METHOD("splice", js_splice),
		METHOD("isatty", js_isatty),
		METHOD("setAffinity", js_set_affinity),
		METHOD("forkProbe", js_fork_probe),
		METHOD("touch", js_touch),
		METHOD("pageSize", js_page_size),
		METHOD("perfCpuClockOpen", js_perf_cpu_clock_open),
		METHOD("perfEventId", js_perf_event_id),
		{ "constants", NULL, NULL, NULL, NULL, NULL, napi_enumerable, NULL },
	};
	napi_value constants = make_constants(env);

	if (!constants)
		return NULL;
	props[ARRAY_SIZE(props) - 1].value = constants;
	NAPI_TRY(env, napi_define_properties(env, exports, ARRAY_SIZE(props), props));
	return exports;
}
