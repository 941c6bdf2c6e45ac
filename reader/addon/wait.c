// SPDX-License-Identifier: GPL-2.0
/*
 * rbmap_sys waits on Node's own event loop: pollAsync.
 *
 * A poll() in the addon stops the whole process until the fd is ready. Here
 * the fd joins the loop's epoll set (a uv_poll handle) with a timer beside it:
 * the process runs timers, signals and other I/O meanwhile and spends no CPU,
 * and the callback runs once, on the loop's thread.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>

#include <uv.h>

#include "rbmap_sys.h"

struct async_wait {
	uv_poll_t poll;
	uv_timer_t timer;
	napi_env env;
	napi_ref callback;
	napi_async_context context;
	/* Handles not yet closed; the struct is freed when the last one is. */
	int open_handles;
	bool done;
};

static void handle_closed(uv_handle_t *handle)
{
	struct async_wait *wait = handle->data;

	if (--wait->open_handles > 0)
		return;
	napi_delete_reference(wait->env, wait->callback);
	napi_async_destroy(wait->env, wait->context);
	free(wait);
}

/* Stop both handles and close them; the struct goes with the second. */
static void close_handles(struct async_wait *wait)
{
	wait->done = true;
	uv_poll_stop(&wait->poll);
	uv_timer_stop(&wait->timer);
	uv_close((uv_handle_t *)&wait->poll, handle_closed);
	uv_close((uv_handle_t *)&wait->timer, handle_closed);
}

/* libuv's event bits and poll(2)'s, side by side. */
static const struct {
	int uv;
	int poll;
} event_bits[] = {
	{ UV_READABLE, POLLIN },
	{ UV_PRIORITIZED, POLLPRI },
	{ UV_WRITABLE, POLLOUT },
	{ UV_DISCONNECT, POLLHUP },
};

static int poll_events_of(int uv_events)
{
	int events = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(event_bits); i++)
		if (uv_events & event_bits[i].uv)
			events |= event_bits[i].poll;
	return events;
}

/*
 * Close both handles and call back with @result: revents, 0 for the timeout,
 * or -errno. An exception the callback throws goes to 'uncaughtException', as
 * one thrown by any other I/O callback would.
 */
static void finish(struct async_wait *wait, int result)
{
	napi_env env = wait->env;
	napi_handle_scope scope;
	napi_value callback, recv, arg, exception;

	if (wait->done)
		return;
	close_handles(wait);

	if (napi_open_handle_scope(env, &scope) != napi_ok)
		return;
	if (napi_get_reference_value(env, wait->callback, &callback) == napi_ok &&
	    napi_get_global(env, &recv) == napi_ok &&
	    napi_create_int32(env, result, &arg) == napi_ok &&
	    napi_make_callback(env, wait->context, recv, callback, 1, &arg, NULL) == napi_pending_exception &&
	    napi_get_and_clear_last_exception(env, &exception) == napi_ok)
		napi_fatal_exception(env, exception);
	napi_close_handle_scope(env, scope);
}

static void on_ready(uv_poll_t *poll, int status, int uv_events)
{
	finish(poll->data, status < 0 ? status : poll_events_of(uv_events));
}

static void on_timeout(uv_timer_t *timer)
{
	finish(timer->data, 0);
}

/*
 * pollAsync(fd, events, timeoutMs, callback(result)) -> undefined. Calls back
 * once: with revents when @fd is ready for @events (POLLIN, POLLPRI, POLLOUT),
 * 0 after @timeoutMs (a negative timeout waits forever), or -errno. The fd
 * keeps the O_NONBLOCK flag it had (libuv sets it to watch the fd). One wait
 * per fd at a time: libuv does not watch an fd twice.
 */
napi_value js_poll_async(napi_env env, napi_callback_info info)
{
	napi_value argv[4], name;
	napi_valuetype type;
	int fd, events, timeout, uv_events = 0, flags, err;
	struct async_wait *wait;
	size_t i;
	struct uv_loop_s *loop;

	if (!get_args(env, info, 4, 4, argv) || !arg_fd(env, argv[0], &fd) ||
	    !arg_int(env, argv[1], "events", &events) ||
	    !arg_int(env, argv[2], "timeoutMs", &timeout))
		return NULL;
	NAPI_TRY(env, napi_typeof(env, argv[3], &type));
	if (type != napi_function)
		return throw_arg(env, "callback", "a function");
	for (i = 0; i < ARRAY_SIZE(event_bits); i++)
		if (event_bits[i].uv != UV_DISCONNECT && (events & event_bits[i].poll))
			uv_events |= event_bits[i].uv;
	if (!uv_events || (events & ~(POLLIN | POLLPRI | POLLOUT)))
		return throw_range(env, "events", "POLLIN, POLLPRI and/or POLLOUT");
	NAPI_TRY(env, napi_get_uv_event_loop(env, &loop));

	flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return throw_errno(env, "fcntl", errno);
	wait = calloc(1, sizeof(*wait));
	if (!wait)
		return throw_errno(env, "pollAsync", ENOMEM);
	wait->env = env;
	err = uv_poll_init(loop, &wait->poll, fd);
	if (err) {
		free(wait);
		return throw_errno(env, "pollAsync", -err);
	}
	if (!(flags & O_NONBLOCK))
		fcntl(fd, F_SETFL, flags);
	uv_timer_init(loop, &wait->timer);
	wait->poll.data = wait;
	wait->timer.data = wait;
	wait->open_handles = 2;
	if (napi_create_reference(env, argv[3], 1, &wait->callback) != napi_ok ||
	    napi_create_string_utf8(env, "rbmap_sys.pollAsync", NAPI_AUTO_LENGTH, &name) != napi_ok ||
	    napi_async_init(env, NULL, name, &wait->context) != napi_ok) {
		/* What was made is released when the handles close. */
		close_handles(wait);
		return throw_napi(env, napi_generic_failure, "pollAsync setup");
	}
	err = uv_poll_start(&wait->poll, uv_events, on_ready);
	if (err) {
		close_handles(wait);
		return throw_errno(env, "pollAsync", -err);
	}
	if (timeout >= 0) {
		/* From now, not from when the loop last looked at its clock. */
		uv_update_time(loop);
		uv_timer_start(&wait->timer, on_timeout, (uint64_t)timeout, 0);
	}
	return make_undefined(env);
}
