// SPDX-License-Identifier: GPL-2.0
/*
 * rbmap_sys file descriptors: ioctl, poll, splice and isatty.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "rbmap_sys.h"

/* ioctl(fd, request, arg = 0) -> number (the ioctl's non-negative result) */
napi_value js_ioctl(napi_env env, napi_callback_info info)
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
napi_value js_ioctl_errno(napi_env env, napi_callback_info info)
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
napi_value js_poll(napi_env env, napi_callback_info info)
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
napi_value js_splice(napi_env env, napi_callback_info info)
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
napi_value js_isatty(napi_env env, napi_callback_info info)
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
