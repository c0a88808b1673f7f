/* login-record.h: what the server's login sends for a name before the user
 * has proved anything.  The directory makes it: for a registered name from
 * the user's row, for an unknown one a fake derived from the server secret,
 * the same in shape (so it does not carry the registered spelling of the
 * name; the key is wrapped for the name folded to ASCII lower case). */
#pragma once
#include <glib.h>

typedef struct {
  char   *suite;
  GBytes *public_key;
  GBytes *wrapped_key;          /* CHATD_WRAP_BLOB_LEN bytes */
} ChatdLoginRecord;

void chatd_login_record_free (ChatdLoginRecord *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdLoginRecord, chatd_login_record_free)
