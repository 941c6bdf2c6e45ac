// SPDX-License-Identifier: GPL-2.0
/*
 * rbmap_sys arguments and results: JavaScript values read as C ones (each
 * reader throws what is wrong with the value), and C values made JavaScript
 * ones.
 */
#define _GNU_SOURCE

#include <limits.h>
#include <stdio.h>

#include "rbmap_sys.h"

/* An integral number in [min, max]. */
bool arg_integer(napi_env env, napi_value v, const char *name,
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

bool arg_int(napi_env env, napi_value v, const char *name, int *out)
{
	double d;

	if (!arg_integer(env, v, name, (double)INT_MIN, (double)INT_MAX, &d))
		return false;
	*out = (int)d;
	return true;
}

bool arg_fd(napi_env env, napi_value v, int *out)
{
	double d;

	if (!arg_integer(env, v, "fd", 0, (double)INT_MAX, &d))
		return false;
	*out = (int)d;
	return true;
}

bool arg_size(napi_env env, napi_value v, const char *name, size_t *out)
{
	double d;

	if (!arg_integer(env, v, name, 0, SAFE_INTEGER_MAX, &d))
		return false;
	*out = (size_t)d;
	return true;
}

/* A bigint (or a safe non-negative integer number) that fits 64 bits. */
bool arg_u64(napi_env env, napi_value v, const char *name, uint64_t *out)
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

bool arg_addr(napi_env env, napi_value v, const char *name, void **out)
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
bool arg_range(napi_env env, napi_value *argv, void **addr, size_t *length)
{
	return arg_addr(env, argv[0], "addr", addr) &&
	       arg_size(env, argv[1], "length", length);
}

/* Fetch exactly between @min and @max arguments; missing optional ones are undefined. */
bool get_args(napi_env env, napi_callback_info info, size_t min,
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
bool is_undefined(napi_env env, napi_value v)
{
	napi_valuetype type;

	return !v || (napi_typeof(env, v, &type) == napi_ok &&
		      type == napi_undefined);
}

napi_value make_bigint(napi_env env, const void *addr)
{
	napi_value v;

	NAPI_TRY(env, napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)addr, &v));
	return v;
}

napi_value make_undefined(napi_env env)
{
	napi_value v;

	NAPI_TRY(env, napi_get_undefined(env, &v));
	return v;
}

/* An external ArrayBuffer over [addr, addr + length); nothing frees it. */
napi_value make_view(napi_env env, void *addr, size_t length)
{
	napi_value buf;

	NAPI_TRY(env, napi_create_external_arraybuffer(env, addr, length, NULL,
						       NULL, &buf));
	return buf;
}
