/* enroll.c: the sealed enrolment payload and the fields both sides sign. */
#define G_LOG_DOMAIN "chatd-auth"
#include "enroll.h"
#include "login.h"
#include "session-protocol.h"

#include <gcrypt.h>
#include <string.h>

#define PAYLOAD_FIELDS 5

void
chatd_enroll_payload_clear (ChatdEnrollPayload *payload)
{
  g_clear_pointer (&payload->name, g_free);
  if (payload->token != NULL)
    chatd_wipe (payload->token, strlen (payload->token));
  g_clear_pointer (&payload->token, g_free);
  g_clear_pointer (&payload->suite, g_free);
  g_clear_pointer (&payload->public_key, g_bytes_unref);
  g_clear_pointer (&payload->wrapped_key, g_bytes_unref);
}

GBytes *
chatd_enroll_payload_encode (const ChatdEnrollPayload *payload)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  chatd_session_append_field (out, payload->name, strlen (payload->name));
  chatd_session_append_field (out, payload->token, strlen (payload->token));
  chatd_session_append_field (out, payload->suite, strlen (payload->suite));
  chatd_session_append_field (out, g_bytes_get_data (payload->public_key, NULL),
                              g_bytes_get_size (payload->public_key));
  chatd_session_append_field (out, g_bytes_get_data (payload->wrapped_key, NULL),
                              g_bytes_get_size (payload->wrapped_key));
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static char *
text_field (const guint8 *data, gsize len)
{
  if (memchr (data, '\0', len) != NULL || !g_utf8_validate_len ((const char *) data, len, NULL))
    return NULL;
  return g_strndup ((const char *) data, len);
}

gboolean
chatd_enroll_payload_decode (const guint8 *data, gsize len, ChatdEnrollPayload *ret_payload,
                             GError **error)
{
  static const struct { gsize min, max; } bounds[PAYLOAD_FIELDS] = {
    { 1, 32 }, { 32, 32 }, { 1, 32 }, { 1, 4096 }, { 1, 4096 },
  };
  ChatdReader reader;
  chatd_reader_init (&reader, data, len);
  const guint8 *field[PAYLOAD_FIELDS];
  gsize field_len[PAYLOAD_FIELDS];
  for (guint i = 0; i < PAYLOAD_FIELDS; i++)
    if (!chatd_session_next_field (&reader, &field[i], &field_len[i]) ||
        field_len[i] < bounds[i].min || field_len[i] > bounds[i].max)
      {
        g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                     "malformed enrolment: field %u truncated or out of bounds", i);
        return FALSE;
      }
  if (chatd_reader_remaining (&reader) != 0)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "malformed enrolment: %zu trailing bytes", chatd_reader_remaining (&reader));
      return FALSE;
    }
  ChatdEnrollPayload p = { 0 };
  p.name = text_field (field[0], field_len[0]);
  p.token = text_field (field[1], field_len[1]);
  p.suite = text_field (field[2], field_len[2]);
  if (p.name == NULL || p.token == NULL || p.suite == NULL || !chatd_enroll_token_is_valid (p.token))
    {
      chatd_enroll_payload_clear (&p);
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   "malformed enrolment: a text field is not valid text, or the token not 32 hex digits");
      return FALSE;
    }
  p.public_key = g_bytes_new (field[3], field_len[3]);
  p.wrapped_key = g_bytes_new (field[4], field_len[4]);
  *ret_payload = p;
  return TRUE;
}

void
chatd_enroll_aad (const ChatdSlice *n1, const ChatdSlice *client_share, GByteArray *ret_aad)
{
  static const char prefix[] = "chatd/1/" CHATD_PURPOSE_ENROLL;
  g_byte_array_append (ret_aad, (const guint8 *) prefix, sizeof prefix);   /* with its NUL */
  g_byte_array_append (ret_aad, n1->data, n1->len);
  g_byte_array_append (ret_aad, client_share->data, client_share->len);
}

void
chatd_enroll_result_fields (const guint8 *server_fingerprint, const ChatdAuthMessage *enroll,
                            const ChatdSlice *name, guint8 digest[32],
                            ChatdSlice ret_fields[CHATD_ENROLL_RESULT_FIELDS])
{
  gcry_md_hash_buffer (GCRY_MD_SHA256, digest, enroll->fields[EN_SEALED].data,
                       enroll->fields[EN_SEALED].len);
  guint i = 0;
  ret_fields[i++] = CHATD_SLICE (server_fingerprint, CHATD_FINGERPRINT_LEN);
  ret_fields[i++] = enroll->fields[EN_N1];
  ret_fields[i++] = enroll->fields[EN_TS];
  ret_fields[i++] = enroll->fields[EN_NONCE];
  ret_fields[i++] = enroll->fields[EN_SHARE];
  ret_fields[i++] = CHATD_SLICE (digest, 32);
  ret_fields[i++] = *name;
  g_assert (i == CHATD_ENROLL_RESULT_FIELDS);
}

void
chatd_passwd_fields (const char *folded_name, const guint8 *wrapped, gsize wrapped_len,
                     guint8 digest[32], ChatdSlice ret_fields[CHATD_PASSWD_FIELDS])
{
  gcry_md_hash_buffer (GCRY_MD_SHA256, digest, wrapped, wrapped_len);
  ret_fields[0] = CHATD_SLICE_STR (folded_name);
  ret_fields[1] = CHATD_SLICE (digest, 32);
}

gboolean
chatd_passwd_argument_parse (const guint8 *data, gsize len, ChatdSlice *ret_wrapped, ChatdSlice *ret_signature)
{
  ChatdReader reader;
  const guint8 *wrapped = NULL, *signature = NULL;
  gsize wrapped_len = 0, signature_len = 0;
  chatd_reader_init (&reader, data, len);
  if (!chatd_session_next_field (&reader, &wrapped, &wrapped_len) ||
      !chatd_session_next_field (&reader, &signature, &signature_len) ||
      chatd_reader_remaining (&reader) != 0)
    return FALSE;
  *ret_wrapped = CHATD_SLICE (wrapped, wrapped_len);
  *ret_signature = CHATD_SLICE (signature, signature_len);
  return TRUE;
}

gboolean
chatd_enroll_token_is_valid (const char *token)
{
  if (token == NULL || strlen (token) != 32)
    return FALSE;
  for (const char *p = token; *p; p++)
    if (!g_ascii_isxdigit (*p))
      return FALSE;
  return TRUE;
}
