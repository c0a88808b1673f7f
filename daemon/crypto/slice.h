/* slice.h: a borrowed (pointer, length) pair, for functions that take a
 * list of byte strings (HMAC over parts, signature fields).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

typedef struct {
  const void *data;
  gsize       len;
} ChatdSlice;

#define CHATD_SLICE(ptr, size)  ((ChatdSlice) { (ptr), (size) })
#define CHATD_SLICE_STR(str)    ((ChatdSlice) { (str), strlen (str) })
