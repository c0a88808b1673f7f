/* fuzz-queue.c: what the offline queue reads from a peer: a `queue`
 * request's argument (chatd_offline_queue_check_envelope), a RECEIPT the
 * server matches (chatd_offline_queue_receipt_key), an EXPIRED notice.  A
 * malformed input must come back as an error, never a crash, and an
 * accepted one must name a recipient.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "auth-message.h"
#include "offline-queue.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const guint8 fingerprint[32] = { 0 };
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GError) error = NULL;
  guint8 id[16], recipient_fp[32];
  char *recipient = NULL;
  if (chatd_offline_queue_check_envelope (bytes, "alice", fingerprint, id, &recipient, recipient_fp, &error))
    {
      g_assert_nonnull (recipient);
      g_free (recipient);
    }
  else
    {
      g_assert_nonnull (error);
      g_assert_null (recipient);
    }
  g_autoptr(ChatdAuthMessage) message = chatd_auth_message_parse (bytes, NULL);
  if (message != NULL)
    {
      const guint8 *rid = NULL, *hash = NULL;
      g_autofree char *sender = NULL;
      if (chatd_offline_queue_receipt_key (message, &rid, &hash, &sender))
        g_assert_true (rid != NULL && hash != NULL && sender != NULL);
      if (message->type == CHATD_MSG_EXPIRED)
        {
          g_assert_cmpuint (message->fields[0].len, ==, 16);
          g_autofree char *to = chatd_auth_field_string (message, 1);
          (void) to;
        }
    }
  return 0;
}
