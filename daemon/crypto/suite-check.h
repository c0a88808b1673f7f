/* suite-check.h: what the registry runs before it accepts a suite.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <chatd/suite.h>

G_BEGIN_DECLS

#define CHATD_SUITE_KATS_MAX 64

/* Validates the descriptor (name, capabilities and the functions and
 * lengths each one needs, at least one known-answer vector per capability)
 * and runs all its known-answer vectors through the suite's own functions.
 * Fails with CHATD_ERROR_INVALID_ARGUMENT for a malformed descriptor and
 * CHATD_ERROR_REFUSED for a vector that does not give the expected answer. */
gboolean chatd_suite_check (const ChatdSuite *suite, GError **error);

/* [a-z0-9-]{1,CHATD_SUITE_NAME_MAX} */
gboolean chatd_suite_name_is_valid (const char *name);

G_END_DECLS
