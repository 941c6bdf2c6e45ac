/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the parts of the rbmap_sys addon share.
 *
 * errors.c throws, args.c reads arguments and makes results; memory.c, fd.c,
 * wait.c and cpu.c hold the functions the module exports, which rbmap_sys.c
 * registers. Every .c file of this folder is built into the one addon.
 */
#ifndef RBMAP_SYS_H
#define RBMAP_SYS_H

#define NAPI_VERSION 8

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <node_api.h>

/* Largest integer a double holds exactly (Number.MAX_SAFE_INTEGER). */
#define SAFE_INTEGER_MAX 9007199254740991.0

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * None of this leaves the shared object (only the module's registration
 * does), so no symbol of node's own can take the place of one of these.
 */
#pragma GCC visibility push(hidden)

/* errors.c: each returns NULL, for "return throw_...". */
napi_value throw_napi(napi_env env, napi_status status, const char *what);
napi_value throw_errno(napi_env env, const char *syscall, int err);
napi_value throw_arg(napi_env env, const char *name, const char *expected);
napi_value throw_range(napi_env env, const char *name, const char *expected);

#define NAPI_TRY(env, call)						\
	do {								\
		napi_status status_ = (call);				\
		if (status_ != napi_ok)					\
			return throw_napi((env), status_, #call);	\
	} while (0)

/*
 * args.c: argument readers return true on success; on failure an exception
 * is pending and the caller returns NULL.
 */
bool arg_integer(napi_env env, napi_value v, const char *name,
		 double min, double max, double *out);
bool arg_int(napi_env env, napi_value v, const char *name, int *out);
bool arg_fd(napi_env env, napi_value v, int *out);
bool arg_size(napi_env env, napi_value v, const char *name, size_t *out);
bool arg_u64(napi_env env, napi_value v, const char *name, uint64_t *out);
bool arg_addr(napi_env env, napi_value v, const char *name, void **out);
bool arg_range(napi_env env, napi_value *argv, void **addr, size_t *length);
bool get_args(napi_env env, napi_callback_info info, size_t min,
	      size_t max, napi_value *argv);
bool is_undefined(napi_env env, napi_value v);
napi_value make_bigint(napi_env env, const void *addr);
napi_value make_undefined(napi_env env);
napi_value make_view(napi_env env, void *addr, size_t length);

/* memory.c: mappings, and probes of them. */
napi_value js_mmap(napi_env env, napi_callback_info info);
napi_value js_mmap_raw(napi_env env, napi_callback_info info);
napi_value js_munmap(napi_env env, napi_callback_info info);
napi_value js_munmap_range(napi_env env, napi_callback_info info);
napi_value js_view_of(napi_env env, napi_callback_info info);
napi_value js_mprotect(napi_env env, napi_callback_info info);
napi_value js_madvise(napi_env env, napi_callback_info info);
napi_value js_mremap(napi_env env, napi_callback_info info);
napi_value js_fork_probe(napi_env env, napi_callback_info info);
napi_value js_touch(napi_env env, napi_callback_info info);
napi_value js_page_size(napi_env env, napi_callback_info info);

/* fd.c: calls on file descriptors. */
napi_value js_ioctl(napi_env env, napi_callback_info info);
napi_value js_ioctl_errno(napi_env env, napi_callback_info info);
napi_value js_poll(napi_env env, napi_callback_info info);
napi_value js_splice(napi_env env, napi_callback_info info);
napi_value js_isatty(napi_env env, napi_callback_info info);

/* wait.c: waits on Node's event loop. */
napi_value js_poll_async(napi_env env, napi_callback_info info);

/* cpu.c: CPU affinity and per-CPU perf events. */
napi_value js_set_affinity(napi_env env, napi_callback_info info);
napi_value js_perf_cpu_clock_open(napi_env env, napi_callback_info info);
napi_value js_perf_event_id(napi_env env, napi_callback_info info);

#pragma GCC visibility pop

#endif /* RBMAP_SYS_H */
