// SPDX-License-Identifier: GPL-2.0
/*
 * rbmap_sys memory: mmap() and what is done with a mapping (views of it,
 * mprotect, madvise, mremap, munmap), and probes of a mapping (is it there in
 * a forked child, does a byte of it read).
 *
 * Mappings are never unmapped behind the caller's back: the external
 * ArrayBuffers created here have no finalizer. munmap() detaches the buffer
 * before the memory goes away, so a stale view reads as length 0 instead of
 * faulting.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "rbmap_sys.h"

/* forkProbe(): the child's exit status encodes the answer or the errno. */
#define PROBE_MAPPED		0
#define PROBE_UNMAPPED		1
#define PROBE_ERRNO_BASE	64

/* mmap(fd, length, prot, flags, offsetBytes) -> { addr: bigint, buffer } */
napi_value js_mmap(napi_env env, napi_callback_info info)
{
	napi_value argv[5], result, addr_v, buf_v;
	size_t length;
	int fd, prot, flags;
	double offset;
	void *addr;

	if (!get_args(env, info, 5, 5, argv) || !arg_int(env, argv[0], "fd", &fd) ||
	    !arg_size(env, argv[1], "length", &length) ||
	    !arg_int(env, argv[2], "prot", &prot) ||
	    !arg_int(env, argv[3], "flags", &flags) ||
	    !arg_integer(env, argv[4], "offsetBytes", 0, SAFE_INTEGER_MAX, &offset))
		return NULL;
	if (length == 0)
		return throw_range(env, "length", "greater than 0");

	addr = mmap(NULL, length, prot, flags, fd, (off_t)offset);
	if (addr == MAP_FAILED)
		return throw_errno(env, "mmap", errno);

	/* From here on, every failure must give the mapping back. */
	addr_v = make_bigint(env, addr);
	buf_v = addr_v ? make_view(env, addr, length) : NULL;
	if (!buf_v || napi_create_object(env, &result) != napi_ok ||
	    napi_set_named_property(env, result, "addr", addr_v) != napi_ok ||
	    napi_set_named_property(env, result, "buffer", buf_v) != napi_ok) {
		if (buf_v)
			napi_detach_arraybuffer(env, buf_v);
		munmap(addr, length);
		return throw_napi(env, napi_generic_failure, "mmap result");
	}
	return result;
}

/*
 * mmapRaw(addr, length, prot, flags, fd, offset) -> bigint
 *
 * mmap(2) with every argument passed as given (a zero length, an offset up
 * to 2^64 - 1, MAP_FIXED at @addr) and no view made of the result: for
 * inputs a reader would never pass. The caller unmaps with munmapRange().
 */
napi_value js_mmap_raw(napi_env env, napi_callback_info info)
{
	napi_value argv[6];
	uint64_t length, offset;
	int fd, prot, flags;
	void *hint, *addr;

	if (!get_args(env, info, 6, 6, argv) || !arg_addr(env, argv[0], "addr", &hint) ||
	    !arg_u64(env, argv[1], "length", &length) ||
	    !arg_int(env, argv[2], "prot", &prot) ||
	    !arg_int(env, argv[3], "flags", &flags) ||
	    !arg_int(env, argv[4], "fd", &fd) ||
	    !arg_u64(env, argv[5], "offset", &offset))
		return NULL;
	addr = mmap(hint, (size_t)length, prot, flags, fd, (off_t)offset);
	if (addr == MAP_FAILED)
		return throw_errno(env, "mmap", errno);
	return make_bigint(env, addr);
}

/* munmap(buffer): detach the ArrayBuffer and unmap its whole range. */
napi_value js_munmap(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	bool is_ab = false, detached = false;
	size_t length = 0;
	void *addr = NULL;

	if (!get_args(env, info, 1, 1, argv))
		return NULL;
	NAPI_TRY(env, napi_is_arraybuffer(env, argv[0], &is_ab));
	if (!is_ab)
		return throw_arg(env, "buffer", "an ArrayBuffer returned by mmap()");
	NAPI_TRY(env, napi_is_detached_arraybuffer(env, argv[0], &detached));
	if (detached)
		return throw_errno(env, "munmap", EINVAL);
	NAPI_TRY(env, napi_get_arraybuffer_info(env, argv[0], &addr, &length));
	if (!addr || length == 0)
		return throw_errno(env, "munmap", EINVAL);

	/*
	 * Unmap first: if that fails the buffer stays usable. Detaching an
	 * external, non-detached buffer cannot fail in practice; if it did,
	 * the error is reported rather than hidden.
	 */
	if (munmap(addr, length) != 0)
		return throw_errno(env, "munmap", errno);
	NAPI_TRY(env, napi_detach_arraybuffer(env, argv[0]));
	return make_undefined(env);
}

/* munmapRange(addr, length): raw munmap(2), no ArrayBuffer involved. */
napi_value js_munmap_range(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	size_t length;
	void *addr;

	if (!get_args(env, info, 2, 2, argv) || !arg_range(env, argv, &addr, &length))
		return NULL;
	if (munmap(addr, length) != 0)
		return throw_errno(env, "munmap", errno);
	return make_undefined(env);
}

/* viewOf(addr, length): a new external ArrayBuffer over an existing mapping. */
napi_value js_view_of(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	size_t length;
	void *addr;

	if (!get_args(env, info, 2, 2, argv) || !arg_range(env, argv, &addr, &length))
		return NULL;
	if (!addr)
		return throw_range(env, "addr", "a non-NULL address");
	return make_view(env, addr, length);
}

/* mprotect(addr, length, prot) */
napi_value js_mprotect(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	size_t length;
	void *addr;
	int prot;

	if (!get_args(env, info, 3, 3, argv) || !arg_range(env, argv, &addr, &length) ||
	    !arg_int(env, argv[2], "prot", &prot))
		return NULL;
	if (mprotect(addr, length, prot) != 0)
		return throw_errno(env, "mprotect", errno);
	return make_undefined(env);
}

/* madvise(addr, length, advice) */
napi_value js_madvise(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	size_t length;
	int advice;
	void *addr;

	if (!get_args(env, info, 3, 3, argv) || !arg_range(env, argv, &addr, &length) ||
	    !arg_int(env, argv[2], "advice", &advice))
		return NULL;
	if (madvise(addr, length, advice) != 0)
		return throw_errno(env, "madvise", errno);
	return make_undefined(env);
}

/* mremap(addr, oldLength, newLength, flags, newAddr?) -> bigint */
napi_value js_mremap(napi_env env, napi_callback_info info)
{
	napi_value argv[5] = { NULL, NULL, NULL, NULL, NULL };
	void *addr, *moved, *new_addr = NULL;
	size_t old_len, new_len;
	int flags;

	if (!get_args(env, info, 4, 5, argv) || !arg_addr(env, argv[0], "addr", &addr) ||
	    !arg_size(env, argv[1], "oldLength", &old_len) ||
	    !arg_size(env, argv[2], "newLength", &new_len) ||
	    !arg_int(env, argv[3], "flags", &flags))
		return NULL;
	if (!is_undefined(env, argv[4]) && !arg_addr(env, argv[4], "newAddr", &new_addr))
		return NULL;
	moved = mremap(addr, old_len, new_len, flags, new_addr);
	if (moved == MAP_FAILED)
		return throw_errno(env, "mremap", errno);
	return make_bigint(env, moved);
}

/*
 * forkProbe(addr, length) -> boolean: is [addr, addr + length) mapped in a
 * forked child? The child only calls async-signal-safe functions (mincore,
 * _exit): the parent is multi-threaded. Everything it needs is allocated
 * before fork().
 */
napi_value js_fork_probe(napi_env env, napi_callback_info info)
{
	napi_value argv[2], result;
	size_t length, pages;
	unsigned char *vec;
	int status = 0, code;
	long page;
	void *addr;
	pid_t pid;

	if (!get_args(env, info, 2, 2, argv) || !arg_range(env, argv, &addr, &length))
		return NULL;
	page = sysconf(_SC_PAGESIZE);
	if (page <= 0)
		return throw_errno(env, "sysconf", EINVAL);
	pages = length / (size_t)page + 2;
	vec = malloc(pages);
	if (!vec)
		return throw_errno(env, "malloc", ENOMEM);

	pid = fork();
	if (pid < 0) {
		int err = errno;

		free(vec);
		return throw_errno(env, "fork", err);
	}
	if (pid == 0) {
		if (mincore(addr, length, vec) == 0)
			_exit(PROBE_MAPPED);
		if (errno == ENOMEM)
			_exit(PROBE_UNMAPPED);
		_exit(PROBE_ERRNO_BASE + (errno < 255 - PROBE_ERRNO_BASE ?
					  errno : 255 - PROBE_ERRNO_BASE));
	}
	free(vec);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return throw_errno(env, "waitpid", errno);
	}
	if (!WIFEXITED(status))
		return throw_errno(env, "waitpid", ECHILD);
	code = WEXITSTATUS(status);
	if (code >= PROBE_ERRNO_BASE)
		return throw_errno(env, "mincore", code - PROBE_ERRNO_BASE);
	if (code != PROBE_MAPPED && code != PROBE_UNMAPPED)
		return throw_errno(env, "waitpid", ECHILD);
	NAPI_TRY(env, napi_get_boolean(env, code == PROBE_MAPPED, &result));
	return result;
}

/*
 * touch(addr) -> number: read the byte at @addr from C. Meant for a child
 * process: an access past the end of a mapping raises SIGBUS here, which
 * kills the process (Node cannot catch it).
 */
napi_value js_touch(napi_env env, napi_callback_info info)
{
	napi_value argv[1], result;
	void *addr;

	if (!get_args(env, info, 1, 1, argv) || !arg_addr(env, argv[0], "addr", &addr))
		return NULL;
	if (!addr)
		return throw_range(env, "addr", "a non-NULL address");
	NAPI_TRY(env, napi_create_uint32(env, *(volatile unsigned char *)addr, &result));
	return result;
}

/* pageSize() -> number */
napi_value js_page_size(napi_env env, napi_callback_info info)
{
	napi_value result;
	long page = sysconf(_SC_PAGESIZE);

	(void)info;
	if (page <= 0)
		return throw_errno(env, "sysconf", errno ? errno : EINVAL);
	NAPI_TRY(env, napi_create_int64(env, page, &result));
	return result;
}
