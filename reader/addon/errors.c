// SPDX-License-Identifier: GPL-2.0
/*
 * rbmap_sys errors: how a failed Node-API call, a failed system call and a
 * wrong argument are thrown to JavaScript.
 */
#define _GNU_SOURCE

#include <stdio.h>
#include <string.h>

#include "rbmap_sys.h"

/*
 * Throw the pending Node-API error, unless a JavaScript exception is already
 * pending (then that one wins). Always returns NULL for "return throw_...".
 */
napi_value throw_napi(napi_env env, napi_status status, const char *what)
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

/*
 * Throw the error of system call @syscall that failed with @err. The errno
 * name (`code`) is added by reader/sys.ts from Node's own table.
 */
napi_value throw_errno(napi_env env, const char *syscall, int err)
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

napi_value throw_arg(napi_env env, const char *name, const char *expected)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "argument \"%s\" must be %s", name, expected);
	napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
	return NULL;
}

napi_value throw_range(napi_env env, const char *name, const char *expected)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "argument \"%s\" is out of range: must be %s",
		 name, expected);
	napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
	return NULL;
}
