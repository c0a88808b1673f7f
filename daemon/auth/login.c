/* login.c: the transcript both sides of the login compute. */
#define G_LOG_DOMAIN "chatd-auth"
#include "login.h"

#include <gcrypt.h>
#include <string.h>

/* c1's fields sit at the same positions in CHALLENGE and ANSWER */
G_STATIC_ASSERT ((int) CH_N1 == (int) AN_N1 && (int) CH_BITS == (int) AN_BITS &&
                 (int) CH_TS == (int) AN_TS && (int) CH_ADDRESS == (int) AN_ADDRESS);

void
chatd_login_transcript_init (ChatdLoginTranscript *t, const guint8 *server_fingerprint,
                             const ChatdAuthMessage *c1, const ChatdSlice *client_nonce,
                             const ChatdSlice *client_share, const ChatdSlice *server_share,
                             const ChatdAuthMessage *reply)
{
  gsize wrapped_len = reply->fields[RE_WRAPPED].len;
  gcry_md_hash_buffer (GCRY_MD_SHA256, t->wrapped_digest, reply->fields[RE_WRAPPED].data, wrapped_len);
  guint i = 0;
  t->fields[i++] = CHATD_SLICE (server_fingerprint, CHATD_FINGERPRINT_LEN);
  t->fields[i++] = c1->fields[CH_N1];
  t->fields[i++] = c1->fields[CH_BITS];
  t->fields[i++] = c1->fields[CH_TS];
  t->fields[i++] = c1->fields[CH_ADDRESS];
  t->fields[i++] = *client_nonce;
  t->fields[i++] = *client_share;
  t->fields[i++] = *server_share;
  t->fields[i++] = reply->fields[RE_NAME];
  t->fields[i++] = reply->fields[RE_SUITE];
  t->fields[i++] = CHATD_SLICE (t->wrapped_digest, sizeof t->wrapped_digest);
  t->fields[i++] = reply->fields[RE_N2];
  t->fields[i++] = reply->fields[RE_TS2];
  g_assert (i == CHATD_LOGIN_TRANSCRIPT_N);
}

gboolean
chatd_login_transcript_hash (const ChatdLoginTranscript *t, guint8 ret_hash[32], GError **error)
{
  guint8 message[CHATD_DOMAIN_MESSAGE_MAX];
  gsize len = chatd_domain_message (CHATD_PURPOSE_TRANSCRIPT, t->fields, CHATD_LOGIN_TRANSCRIPT_N,
                                    message, error);
  if (len == 0)
    return FALSE;
  gcry_md_hash_buffer (GCRY_MD_SHA256, ret_hash, message, len);
  return TRUE;
}

static char *
fingerprint_of_blob (GBytes *blob)
{
  guint8 fp[32];
  gcry_md_hash_buffer (GCRY_MD_SHA256, fp, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob));
  return chatd_fingerprint_to_string (fp);
}

gboolean
chatd_login_check_pinned_key (GBytes *pinned, GBytes *offered, const char *action, GError **error)
{
  if (pinned == NULL || g_bytes_equal (pinned, offered))
    return TRUE;
  g_autofree char *expected = fingerprint_of_blob (pinned);
  g_autofree char *got = fingerprint_of_blob (offered);
  g_set_error (error, CHATD_ERROR, CHATD_ERROR_REFUSED,
               "the server's key changed: pinned %s, offered %s (refusing to %s)", expected, got, action);
  return FALSE;
}

void
chatd_login_name_aad (const ChatdSlice *n1, const ChatdSlice *client_share, GByteArray *ret_aad)
{
  static const char prefix[] = "chatd/1/" CHATD_PURPOSE_NAME;
  g_byte_array_append (ret_aad, (const guint8 *) prefix, sizeof prefix);   /* with its NUL */
  g_byte_array_append (ret_aad, n1->data, n1->len);
  g_byte_array_append (ret_aad, client_share->data, client_share->len);
}

gboolean
chatd_login_challenge_mac (const guint8 *server_secret, const ChatdSlice *n1, const ChatdSlice *bits,
                           const ChatdSlice *ts, const ChatdSlice *address, const ChatdSlice *nonce,
                           const ChatdSlice *share, guint8 ret_mac[32], GError **error)
{
  ChatdSlice fields[] = { *n1, *bits, *ts, *address, *nonce, *share };
  return chatd_domain_mac (server_secret, 32, CHATD_PURPOSE_CHALLENGE, fields, G_N_ELEMENTS (fields),
                           ret_mac, error);
}
