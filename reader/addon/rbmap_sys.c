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
 * Mappings are never unmapped behind the caller's back: the external
 * ArrayBuffers created here have no finalizer. munmap() detaches the buffer
 * before the memory goes away, so a stale view reads as length 0 instead of
 * faulting.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/perf_event.h>

#include <node_api.h>

/* Largest integer a double holds exactly (Number.MAX_SAFE_INTEGER). */
#define SAFE_INTEGER_MAX 9007199254740991.0

/* forkProbe(): the child's exit status encodes the answer or the errno. */
#define PROBE_MAPPED		0
#define PROBE_UNMAPPED		1
#define PROBE_ERRNO_BASE	64

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Throw the pending Node-API error, unless a JavaScript exception is already
 * pending (then that one wins). Always returns NULL for "return throw_...".
 */
static napi_value throw_napi(napi_env env, napi_status status, const char *what)
{
	const napi_extended_error_info *info = NULL;
	bool pending = false;
	char msg[256];

	if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
		return NULL;
	if (napi_get_last_error_info(env, &info) != napi_ok || !info ||
	    !info->error_message)
		snprintf(msg, sizeof(msg), "rbmap_sys: %s failed (napi_status %d)",
			 what, (int)status);
	else
		snprintf(msg, sizeof(msg), "rbmap_sys: %s failed: %s", what,
			 info->error_message);
	napi_throw_error(env, "ERR_RBMAP_NAPI", msg);
	return NULL;
}

#define NAPI_TRY(env, call)						\
	do {								\
		napi_status status_ = (call);				\
		if (status_ != napi_ok)					\
			return throw_napi((env), status_, #call);	\
	} while (0)

/*
 * Throw the error of system call @syscall that failed with @err. The errno
 * name (`code`) is added by reader/sys.ts from Node's own table.
 */
static napi_value throw_errno(napi_env env, const char *syscall, int err)
{
	char strbuf[128], msg[256];
	napi_value message, error, number, name;
	const char *desc = strerror_r(err, strbuf, sizeof(strbuf));

	snprintf(msg, sizeof(msg), "%s failed: %s", syscall, desc);
	NAPI_TRY(env, napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message));
	NAPI_TRY(env, napi_create_error(env, NULL, message, &error));
	NAPI_TRY(env, napi_create_int32(env, err, &number));
	NAPI_TRY(env, napi_set_named_property(env, error, "errno", number));
	NAPI_TRY(env, napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &name));
	NAPI_TRY(env, napi_set_named_property(env, error, "syscall", name));
	NAPI_TRY(env, napi_throw(env, error));
	return NULL;
}

static napi_value throw_arg(napi_env env, const char *name, const char *expected)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "argument \"%s\" must be %s", name, expected);
	napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
	return NULL;
}

static napi_value throw_range(napi_env env, const char *name, const char *expected)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "argument \"%s\" is out of range: must be %s",
		 name, expected);
	napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
	return NULL;
}

/*
 * Argument readers: return true on success; on failure an exception is
 * pending and the caller returns NULL.
 */

/* An integral number in [min, max]. */
static bool arg_integer(napi_env env, napi_value v, const char *name,
			double min, double max, double *out)
{
	napi_valuetype type;
	double d;

	if (napi_typeof(env, v, &type) != napi_ok || type != napi_number) {
		throw_arg(env, name, "a number");
		return false;
	}
	if (napi_get_value_double(env, v, &d) != napi_ok) {
		throw_napi(env, napi_number_expected, "napi_get_value_double");
		return false;
	}
	if (d != d || d < min || d > max || d != (double)(int64_t)d) {
		throw_range(env, name, "an integer in range");
		return false;
	}
	*out = d;
	return true;
}

static bool arg_int(napi_env env, napi_value v, const char *name, int *out)
{
	double d;

	if (!arg_integer(env, v, name, (double)INT_MIN, (double)INT_MAX, &d))
		return false;
	*out = (int)d;
	return true;
}

static bool arg_fd(napi_env env, napi_value v, int *out)
{
	double d;

	if (!arg_integer(env, v, "fd", 0, (double)INT_MAX, &d))
		return false;
	*out = (int)d;
	return true;
}

static bool arg_size(napi_env env, napi_value v, const char *name, size_t *out)
{
	double d;

	if (!arg_integer(env, v, name, 0, SAFE_INTEGER_MAX, &d))
		return false;
	*out = (size_t)d;
	return true;
}

/* A bigint (or a safe non-negative integer number) that fits 64 bits. */
static bool arg_u64(napi_env env, napi_value v, const char *name, uint64_t *out)
{
	napi_valuetype type;
	bool lossless = false;
	double d;

	if (napi_typeof(env, v, &type) != napi_ok) {
		throw_napi(env, napi_generic_failure, "napi_typeof");
		return false;
	}
	if (type == napi_number) {
		if (!arg_integer(env, v, name, 0, SAFE_INTEGER_MAX, &d))
			return false;
		*out = (uint64_t)d;
		return true;
	}
	if (type != napi_bigint) {
		throw_arg(env, name, "a bigint");
		return false;
	}
	if (napi_get_value_bigint_uint64(env, v, out, &lossless) != napi_ok) {
		throw_napi(env, napi_bigint_expected, "napi_get_value_bigint_uint64");
		return false;
	}
	if (!lossless) {
		throw_range(env, name, "a bigint in [0, 2^64)");
		return false;
	}
	return true;
}

static bool arg_addr(napi_env env, napi_value v, const char *name, void **out)
{
	uint64_t u;

	if (!arg_u64(env, v, name, &u))
		return false;
	if (u > (uint64_t)UINTPTR_MAX) {
		throw_range(env, name, "a user-space address");
		return false;
	}
	*out = (void *)(uintptr_t)u;
	return true;
}

/* The (addr, length) pair most calls start with, in argv[0] and argv[1]. */
static bool arg_range(napi_env env, napi_value *argv, void **addr, size_t *length)
{
	return arg_addr(env, argv[0], "addr", addr) &&
	       arg_size(env, argv[1], "length", length);
}

/* Fetch exactly between @min and @max arguments; missing optional ones are undefined. */
static bool get_args(napi_env env, napi_callback_info info, size_t min,
		     size_t max, napi_value *argv)
{
	size_t argc = max;
	char msg[96];

	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
		throw_napi(env, napi_generic_failure, "napi_get_cb_info");
		return false;
	}
	if (argc < min) {
		snprintf(msg, sizeof(msg), "expected at least %zu arguments, got %zu",
			 min, argc);
		napi_throw_type_error(env, "ERR_MISSING_ARGS", msg);
		return false;
	}
	return true;
}

/* Is @v undefined (an optional argument that was left out)? */
static bool is_undefined(napi_env env, napi_value v)
{
	napi_valuetype type;

	return !v || (napi_typeof(env, v, &type) == napi_ok &&
		      type == napi_undefined);
}

static napi_value make_bigint(napi_env env, const void *addr)
{
	napi_value v;

	NAPI_TRY(env, napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)addr, &v));
	return v;
}

static napi_value make_undefined(napi_env env)
{
	napi_value v;

	NAPI_TRY(env, napi_get_undefined(env, &v));
	return v;
}

/* An external ArrayBuffer over [addr, addr + length); nothing frees it. */
static napi_value make_view(napi_env env, void *addr, size_t length)
{
	napi_value buf;

	NAPI_TRY(env, napi_create_external_arraybuffer(env, addr, length, NULL,
						       NULL, &buf));
	return buf;
}

/* mmap(fd, length, prot, flags, offsetBytes) -> { addr: bigint, buffer } */
static napi_value js_mmap(napi_env env, napi_callback_info info)
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
static napi_value js_mmap_raw(napi_env env, napi_callback_info info)
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
static napi_value js_munmap(napi_env env, napi_callback_info info)
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
static napi_value js_munmap_range(napi_env env, napi_callback_info info)
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
static napi_value js_view_of(napi_env env, napi_callback_info info)
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
static napi_value js_mprotect(napi_env env, napi_callback_info info)
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
static napi_value js_madvise(napi_env env, napi_callback_info info)
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
static napi_value js_mremap(napi_env env, napi_callback_info info)
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

/* ioctl(fd, request, arg = 0) -> number (the ioctl's non-negative result) */
static napi_value js_ioctl(napi_env env, napi_callback_info info)
{
	napi_value argv[3] = { NULL, NULL, NULL }, result;
	uint64_t request, arg = 0;
	int fd, ret;

	if (!get_args(env, info, 2, 3, argv) || !arg_fd(env, argv[0], &fd) ||
	    !arg_u64(env, argv[1], "request", &request))
		return NULL;
	if (request > UINT32_MAX)
		return throw_range(env, "request", "a 32-bit ioctl number");
	if (!is_undefined(env, argv[2]) && !arg_u64(env, argv[2], "arg", &arg))
		return NULL;
	ret = ioctl(fd, (unsigned long)request, (unsigned long)arg);
	if (ret == -1)
		return throw_errno(env, "ioctl", errno);
	NAPI_TRY(env, napi_create_int32(env, ret, &result));
	return result;
}

/*
 * ioctlErrno(fd, request) -> number: the ioctl's result, or -errno when it
 * fails. For a call whose failure is an answer (GET_READER_PAGE's EAGAIN),
 * once per page: no exception, no Error object, no message.
 */
static napi_value js_ioctl_errno(napi_env env, napi_callback_info info)
{
	napi_value argv[2] = { NULL, NULL }, result;
	uint64_t request;
	int fd, ret;

	if (!get_args(env, info, 2, 2, argv) || !arg_fd(env, argv[0], &fd) ||
	    !arg_u64(env, argv[1], "request", &request))
		return NULL;
	if (request > UINT32_MAX)
		return throw_range(env, "request", "a 32-bit ioctl number");
	ret = ioctl(fd, (unsigned long)request, 0UL);
	NAPI_TRY(env, napi_create_int32(env, ret == -1 ? -errno : ret, &result));
	return result;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * poll(fd, events, timeoutMs) -> revents (0 on timeout). A negative timeout
 * waits forever. Signals (Node's own SIGCHLD handling, for one) do not cut
 * the wait short: EINTR restarts the poll with the time that is left.
 */
static napi_value js_poll(napi_env env, napi_callback_info info)
{
	napi_value argv[3], result;
	int fd, events, timeout, left, ret;
	struct pollfd pfd;
	int64_t deadline;

	if (!get_args(env, info, 3, 3, argv) || !arg_fd(env, argv[0], &fd) ||
	    !arg_int(env, argv[1], "events", &events) ||
	    !arg_int(env, argv[2], "timeoutMs", &timeout))
		return NULL;
	if (events < 0 || events > SHRT_MAX)
		return throw_range(env, "events", "a poll event mask");

	deadline = now_ms() + (timeout > 0 ? timeout : 0);
	left = timeout;
	for (;;) {
		pfd.fd = fd;
		pfd.events = (short)events;
		pfd.revents = 0;
		ret = poll(&pfd, 1, left);
		if (ret >= 0)
			break;
		if (errno != EINTR)
			return throw_errno(env, "poll", errno);
		if (timeout > 0) {
			int64_t rest = deadline - now_ms();

			left = rest > 0 ? (int)rest : 0;
		}
	}
	NAPI_TRY(env, napi_create_int32(env, ret == 0 ? 0 : pfd.revents, &result));
	return result;
}

/* read(2) exactly @len bytes that splice() already put into pipe @fd. */
static int drain_pipe(int fd, unsigned char *dst, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, dst + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;	/* the pipe holds less than splice() reported */
		done += (size_t)n;
	}
	return 0;
}

/*
 * splice(fd, length, flags = 0) -> Buffer. One splice(2) call from @fd into a
 * private pipe (grown to hold @length), then the pipe is read out. The Buffer
 * holds what that one call moved (0 bytes at end of file).
 */
static napi_value js_splice(napi_env env, napi_callback_info info)
{
	napi_value argv[3] = { NULL, NULL, NULL }, result = NULL;
	const char *failed = NULL;
	int fd, flags = 0, err = 0, pipefd[2], cap;
	size_t length;
	ssize_t moved;
	void *data;

	if (!get_args(env, info, 2, 3, argv) || !arg_fd(env, argv[0], &fd) ||
	    !arg_size(env, argv[1], "length", &length))
		return NULL;
	if (!is_undefined(env, argv[2]) && !arg_int(env, argv[2], "flags", &flags))
		return NULL;
	if (length > INT_MAX)
		return throw_range(env, "length", "at most INT_MAX bytes");
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return throw_errno(env, "pipe2", errno);

	cap = fcntl(pipefd[1], F_GETPIPE_SZ);
	if (cap < 0) {
		failed = "fcntl";
		err = errno;
		goto out;
	}
	if ((size_t)cap < length && fcntl(pipefd[1], F_SETPIPE_SZ, (int)length) < 0) {
		failed = "fcntl";
		err = errno;
		goto out;
	}
	do {
		moved = splice(fd, NULL, pipefd[1], NULL, length, (unsigned int)flags);
	} while (moved < 0 && errno == EINTR);
	if (moved < 0) {
		failed = "splice";
		err = errno;
		goto out;
	}
	if (napi_create_buffer(env, (size_t)moved, &data, &result) != napi_ok) {
		result = throw_napi(env, napi_generic_failure, "napi_create_buffer");
		goto out;
	}
	err = drain_pipe(pipefd[0], data, (size_t)moved);
	if (err) {
		failed = "read";
		err = -err;
		result = NULL;
	}
out:
	close(pipefd[0]);
	close(pipefd[1]);
	if (failed)
		return throw_errno(env, failed, err);
	return result;
}

/* isatty(fd) -> { tty: boolean, errno: number } (errno 0 when it is a tty) */
static napi_value js_isatty(napi_env env, napi_callback_info info)
{
	napi_value argv[1], result, tty_v, errno_v;
	int fd, tty, err;

	if (!get_args(env, info, 1, 1, argv) || !arg_fd(env, argv[0], &fd))
		return NULL;
	errno = 0;
	tty = isatty(fd);
	err = tty == 1 ? 0 : errno;
	NAPI_TRY(env, napi_get_boolean(env, tty == 1, &tty_v));
	NAPI_TRY(env, napi_create_int32(env, err, &errno_v));
	NAPI_TRY(env, napi_create_object(env, &result));
	NAPI_TRY(env, napi_set_named_property(env, result, "tty", tty_v));
	NAPI_TRY(env, napi_set_named_property(env, result, "errno", errno_v));
	return result;
}

/* setAffinity(cpu): pin the calling thread to @cpu. */
static napi_value js_set_affinity(napi_env env, napi_callback_info info)
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
 * forkProbe(addr, length) -> boolean: is [addr, addr + length) mapped in a
 * forked child? The child only calls async-signal-safe functions (mincore,
 * _exit): the parent is multi-threaded. Everything it needs is allocated
 * before fork().
 */
static napi_value js_fork_probe(napi_env env, napi_callback_info info)
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
static napi_value js_touch(napi_env env, napi_callback_info info)
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

/*
 * perfCpuClockOpen(cpu) -> fd: a software CPU-clock counter bound to @cpu
 * (pid -1), the kind of event whose context mutex is taken at CPU bring-up.
 */
static napi_value js_perf_cpu_clock_open(napi_env env, napi_callback_info info)
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
static napi_value js_perf_event_id(napi_env env, napi_callback_info info)
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

/* pageSize() -> number */
static napi_value js_page_size(napi_env env, napi_callback_info info)
{
	napi_value result;
	long page = sysconf(_SC_PAGESIZE);

	(void)info;
	if (page <= 0)
		return throw_errno(env, "sysconf", errno ? errno : EINVAL);
	NAPI_TRY(env, napi_create_int64(env, page, &result));
	return result;
}

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
