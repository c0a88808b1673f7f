/* fuzz-enroll.c: the enrolment's sealed payload and the auth messages.
 *
 * Feeds the input to chatd_enroll_payload_decode and to
 * chatd_auth_message_parse.  Whatever decodes must encode to bytes that
 * decode again to the same encoding (lengths may come in a longer varint
 * than the minimal one, so the input itself need not come back).
 * Malformed input must come back as an error, never a crash.
 */
#include "auth-message.h"
#include "enroll.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  ChatdEnrollPayload payload = { 0 };
  g_autoptr(GError) error = NULL;
  if (chatd_enroll_payload_decode (data, size, &payload, &error))
    {
      g_autoptr(GBytes) again = chatd_enroll_payload_encode (&payload);
      chatd_enroll_payload_clear (&payload);
      g_assert_true (chatd_enroll_payload_decode (g_bytes_get_data (again, NULL), g_bytes_get_size (again),
                                                  &payload, NULL));
      g_autoptr(GBytes) third = chatd_enroll_payload_encode (&payload);
      g_assert_true (g_bytes_equal (again, third));
      chatd_enroll_payload_clear (&payload);
    }
  else
    g_assert_nonnull (error);
  g_clear_error (&error);

  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(ChatdAuthMessage) message = chatd_auth_message_parse (bytes, &error);
  if (message != NULL)
    {
      g_autoptr(GBytes) rebuilt = chatd_auth_message_build (message->type, message->fields, message->n_fields);
      g_assert_nonnull (rebuilt);
      g_autoptr(ChatdAuthMessage) reparsed = chatd_auth_message_parse (rebuilt, NULL);
      g_assert_nonnull (reparsed);
      g_assert_cmpint (reparsed->type, ==, message->type);
      g_assert_cmpuint (reparsed->n_fields, ==, message->n_fields);
      for (guint i = 0; i < message->n_fields; i++)
        g_assert_cmpmem (reparsed->fields[i].data, reparsed->fields[i].len,
                         message->fields[i].data, message->fields[i].len);
    }
  else
    g_assert_nonnull (error);
  return 0;
}
