/* fuzz-session.c: what a user node and the server say inside their session
 * (session-protocol.h): REQUEST and RESPONSE messages, the passwd request's
 * argument (chatd_passwd_argument_parse, as the server reads it), the body of
 * a `users` response (chatd_key_record_list_verify, as the user node reads
 * it) and of a `list` response (a manifest signed for "manifest-list").
 *
 * The server key is suite-25519's known-answer key, so the seed corpus
 * (written by this file built with -DFUZZ_SESSION_GEN_CORPUS:
 * gen-session-corpus DIR) verifies in every run.  The first byte picks the
 * mode, the rest is M:
 *   0  M as a session message; a REQUEST's argument goes to the parser its
 *      kind names, a RESPONSE's body to both response parsers
 *   1  M as a `users` body
 *   2  M as a passwd argument
 * Invariants: a refusal has an error; what parses is re-encoded and parses
 * to the same; a verified `users` list has one record per field; the text
 * of a refused request is UTF-8 (chatd_session_refusal_text).
 */
#include "auth-message.h"
#include "chatd-crypto.h"
#include "enroll.h"
#include "key-record.h"
#include "manifest.h"
#include "session-protocol.h"
#include "suite-25519.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define NOW 1800000000

static ChatdKey *server_key;

static void
check_users (const guint8 *data, gsize len)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) records = NULL;
  if (chatd_key_record_list_verify (server_key, data, len, NOW, &records, &error))
    {
      g_assert_no_error (error);
      /* as many records as fields */
      ChatdReader r;
      guint n = 0;
      chatd_reader_init (&r, data, len);
      const guint8 *field;
      gsize field_len;
      while (chatd_reader_remaining (&r) > 0 && chatd_session_next_field (&r, &field, &field_len))
        n++;
      g_assert_cmpuint (n, ==, records->len);
    }
  else
    {
      g_assert_nonnull (error);
      g_assert_null (records);
    }
}

static void
check_passwd_argument (const guint8 *data, gsize len)
{
  ChatdSlice wrapped, signature;
  if (!chatd_passwd_argument_parse (data, len, &wrapped, &signature))
    return;
  g_assert_true ((const guint8 *) wrapped.data >= data && (const guint8 *) wrapped.data + wrapped.len <= data + len);
  g_assert_true ((const guint8 *) signature.data >= data &&
                 (const guint8 *) signature.data + signature.len <= data + len);
  /* as the user node writes it */
  g_autoptr(GByteArray) again = g_byte_array_new ();
  chatd_session_append_field (again, wrapped.data, wrapped.len);
  chatd_session_append_field (again, signature.data, signature.len);
  ChatdSlice w2, s2;
  g_assert_true (chatd_passwd_argument_parse (again->data, again->len, &w2, &s2));
  g_assert_cmpmem (w2.data, w2.len, wrapped.data, wrapped.len);
  g_assert_cmpmem (s2.data, s2.len, signature.data, signature.len);
  /* what the server then checks */
  guint8 digest[32];
  ChatdSlice fields[CHATD_PASSWD_FIELDS];
  chatd_passwd_fields ("alice", wrapped.data, wrapped.len, digest, fields);
  chatd_domain_verify (server_key, CHATD_PURPOSE_PASSWD, fields, CHATD_PASSWD_FIELDS, signature.data,
                       signature.len, NULL);
}

static void
check_manifest (const ChatdSlice *body, const ChatdSlice *signature)
{
  g_autoptr(GError) error = NULL;
  if (signature != NULL)
    chatd_domain_verify (server_key, CHATD_PURPOSE_MANIFEST_LIST, body, 1, signature->data, signature->len, NULL);
  g_autoptr(ChatdManifest) manifest = chatd_manifest_decode (body->data, body->len, &error);
  if (manifest == NULL)
    {
      g_assert_nonnull (error);
      return;
    }
  g_autoptr(GVariant) v = g_variant_ref_sink (chatd_manifest_to_variant (manifest));
  g_assert_cmpuint (g_variant_n_children (v), ==, manifest->entries->len);
}

static void
check_message (GBytes *m)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ChatdAuthMessage) message = chatd_auth_message_parse (m, &error);
  if (message == NULL)
    {
      g_assert_nonnull (error);
      return;
    }
  if (message->type == CHATD_MSG_REQUEST)
    {
      guint64 id = 0;
      chatd_auth_field_u64 (message, SR_ID, &id);
      g_autofree char *kind = chatd_auth_field_string (message, SR_KIND);
      if (message->n_fields > SR_ARGUMENT && g_strcmp0 (kind, CHATD_REQUEST_PASSWD) == 0)
        check_passwd_argument (message->fields[SR_ARGUMENT].data, message->fields[SR_ARGUMENT].len);
      else if (message->n_fields > SR_ARGUMENT)
        g_free (chatd_auth_field_string (message, SR_ARGUMENT));
    }
  else if (message->type == CHATD_MSG_RESPONSE)
    {
      guint64 id = 0;
      chatd_auth_field_u64 (message, SP_ID, &id);
      g_assert_cmpuint (message->fields[SP_STATUS].len, >=, 1);   /* the user node reads byte 0 */
      /* a refusal's text goes to chatctl as a D-Bus string */
      g_autofree char *text = chatd_session_refusal_text (message->fields[SP_BODY].data, message->fields[SP_BODY].len);
      g_assert_true (g_utf8_validate (text, -1, NULL));
      g_variant_unref (g_variant_ref_sink (g_variant_new_string (text)));
      check_users (message->fields[SP_BODY].data, message->fields[SP_BODY].len);
      check_manifest (&message->fields[SP_BODY], message->n_fields > SP_SIGNATURE ? &message->fields[SP_SIGNATURE] : NULL);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (server_key == NULL)
    {
      g_assert_true (chatd_crypto_init (NULL));
      server_key = chatd_suite_25519.import_private (&chatd_suite_25519, chatd_suite_25519_kat_private,
                                                     sizeof chatd_suite_25519_kat_private, NULL);
      g_assert_nonnull (server_key);
    }
  if (size < 1)
    return 0;
  switch (data[0] % 3)
    {
    case 0:
      {
        g_autoptr(GBytes) m = g_bytes_new (data + 1, size - 1);
        check_message (m);
      }
      break;
    case 1:
      check_users (data + 1, size - 1);
      break;
    default:
      check_passwd_argument (data + 1, size - 1);
      break;
    }
  return 0;
}

#ifdef FUZZ_SESSION_GEN_CORPUS
static void
write_seed (const char *dir, const char *name, guint8 mode, const void *bytes, gsize len)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_byte_array_append (out, &mode, 1);
  g_byte_array_append (out, bytes, len);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, (const char *) out->data, out->len, NULL));
}

static void
write_message (const char *dir, const char *name, ChatdMsgType type, const ChatdSlice *fields, guint n)
{
  g_autoptr(GBytes) m = chatd_auth_message_build (type, fields, n);
  g_assert_nonnull (m);
  write_seed (dir, name, 0, g_bytes_get_data (m, NULL), g_bytes_get_size (m));
}

int
main (int argc, char **argv)
{
  g_assert_cmpint (argc, ==, 2);
  LLVMFuzzerTestOneInput ((const guint8 *) "", 0);   /* the key */
  const char *dir = argv[1];
  g_autoptr(GBytes) public_key = chatd_suite_25519.export_public (server_key, NULL);
  guint8 id[8];
  chatd_u64_to_be (7, id);
  guint8 nonce[CHATD_MANIFEST_NONCE_LEN];
  memset (nonce, 0x33, sizeof nonce);

  /* requests */
  ChatdSlice list[] = { CHATD_SLICE (id, 8), CHATD_SLICE_STR (CHATD_REQUEST_LIST), CHATD_SLICE (nonce, sizeof nonce) };
  write_message (dir, "request-list", CHATD_MSG_REQUEST, list, 3);
  ChatdSlice users[] = { CHATD_SLICE (id, 8), CHATD_SLICE_STR (CHATD_REQUEST_USERS) };
  write_message (dir, "request-users", CHATD_MSG_REQUEST, users, 2);
  ChatdSlice presence[] = { CHATD_SLICE (id, 8), CHATD_SLICE_STR (CHATD_REQUEST_PRESENCE),
                            CHATD_SLICE_STR ("127.0.0.1:7001") };
  write_message (dir, "request-presence", CHATD_MSG_REQUEST, presence, 3);
  /* passwd: a new blob (any bytes here) signed by the key */
  static const guint8 blob[64] = "a new wrapped key blob";
  guint8 digest[32];
  ChatdSlice pw_fields[CHATD_PASSWD_FIELDS];
  chatd_passwd_fields ("alice", blob, sizeof blob, digest, pw_fields);
  g_autoptr(GBytes) pw_signature = NULL;
  g_assert_true (chatd_domain_sign (server_key, CHATD_PURPOSE_PASSWD, pw_fields, CHATD_PASSWD_FIELDS, &pw_signature, NULL));
  g_autoptr(GByteArray) argument = g_byte_array_new ();
  chatd_session_append_field (argument, blob, sizeof blob);
  chatd_session_append_field (argument, g_bytes_get_data (pw_signature, NULL), g_bytes_get_size (pw_signature));
  ChatdSlice passwd[] = { CHATD_SLICE (id, 8), CHATD_SLICE_STR (CHATD_REQUEST_PASSWD),
                          CHATD_SLICE (argument->data, argument->len) };
  write_message (dir, "request-passwd", CHATD_MSG_REQUEST, passwd, 3);
  write_seed (dir, "passwd-argument", 2, argument->data, argument->len);

  /* responses: users (two records), list (signed manifest), an error */
  g_autoptr(GByteArray) body = g_byte_array_new ();
  const char *names[] = { "Alice", "Bob" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      ChatdKeyRecord record = { (char *) names[i], (char *) "25519", public_key, NOW - 60, NOW + 86400 };
      g_autoptr(GBytes) encoded = NULL;
      g_assert_true (chatd_key_record_sign (server_key, &record, &encoded, NULL));
      chatd_session_append_field (body, g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded));
    }
  const guint8 ok = 0, refused = 1;
  ChatdSlice users_response[] = { CHATD_SLICE (id, 8), CHATD_SLICE (&ok, 1), CHATD_SLICE (body->data, body->len) };
  write_message (dir, "response-users", CHATD_MSG_RESPONSE, users_response, 3);
  write_seed (dir, "users-body", 1, body->data, body->len);
  write_seed (dir, "users-body-empty", 1, "", 0);

  g_autoptr(ChatdManifest) manifest = chatd_manifest_new (NOW, 30, nonce);
  chatd_manifest_add (manifest, "Alice", "127.0.0.1:7001", "25519", public_key, NOW - 100);
  chatd_manifest_add (manifest, "Bob", "[::1]:7002", "25519", public_key, NOW - 50);
  g_autoptr(GBytes) encoded = chatd_manifest_encode (manifest);
  ChatdSlice manifest_field = CHATD_SLICE (g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded));
  g_autoptr(GBytes) signature = NULL;
  g_assert_true (chatd_domain_sign (server_key, CHATD_PURPOSE_MANIFEST_LIST, &manifest_field, 1, &signature, NULL));
  ChatdSlice list_response[] = { CHATD_SLICE (id, 8), CHATD_SLICE (&ok, 1), manifest_field,
                                 CHATD_SLICE (g_bytes_get_data (signature, NULL), g_bytes_get_size (signature)) };
  write_message (dir, "response-list", CHATD_MSG_RESPONSE, list_response, 4);
  ChatdSlice error_response[] = { CHATD_SLICE (id, 8), CHATD_SLICE (&refused, 1), CHATD_SLICE_STR ("no such user") };
  write_message (dir, "response-error", CHATD_MSG_RESPONSE, error_response, 3);
  return 0;
}
#endif
