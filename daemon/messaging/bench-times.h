/* bench-times.h: the monotonic timestamps that chat-bench measures with
 * (doc/bench.md, "chat-bench"): "accepted-us" in each result of a `send`
 * (when the call arrived) and "stored-us" in the `message` event (when the
 * recipient's node committed it).  Both are g_get_monotonic_time() values,
 * comparable between processes on one machine (CLOCK_MONOTONIC). */
#pragma once
#include <glib.h>

/* dict (an a{sv}, floating or owned, consumed) with key = int64 value added;
 * returns a new floating a{sv}. */
GVariant *chatd_vardict_with_time (GVariant *dict, const char *key, gint64 value);
