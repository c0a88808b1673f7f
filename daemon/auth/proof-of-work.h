/* proof-of-work.h: the login's proof of work.  X (8 bytes) is valid for a
 * challenge when SHA-256("chatd-pow" || challenge || SHA-256(sealed) || X)
 * starts with `bits` zero bits. */
#pragma once
#include <glib.h>

#define CHATD_POW_BITS_MAX 28

gboolean chatd_pow_check (const guint8 *challenge, gsize challenge_len,
                          const guint8 *sealed, gsize sealed_len,
                          guint bits, guint64 x);
/* Tries X = start, start+1, ... at most max_tries times. */
gboolean chatd_pow_solve (const guint8 *challenge, gsize challenge_len,
                          const guint8 *sealed, gsize sealed_len,
                          guint bits, guint64 start, guint64 max_tries, guint64 *ret_x);
