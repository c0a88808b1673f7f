/* envelope.c: end-to-end envelopes and receipts (doc/protocol.md, "Envelope"). */
#define G_LOG_DOMAIN "chatd-messaging"
#include "envelope.h"

#include <gcrypt.h>
#include <string.h>

#define PURPOSE_ENVELOPE "envelope"
#define PURPOSE_SEAL     "envelope-seal"
#define PURPOSE_RECEIPT  "receipt"

void
chatd_message_free (ChatdMessage *message)
{
  if (message == NULL)
    return;
  g_free (message->id_text);
  g_free (message->sender);
  g_free (message->recipient);
  if (message->text != NULL)
    chatd_wipe (message->text, strlen (message->text));
  g_free (message->text);
  g_free (message);
}

static char *
hex (const guint8 *data, gsize len)
{
  char *out = g_malloc (2 * len + 1);
  for (gsize i = 0; i < len; i++)
    g_snprintf (out + 2 * i, 3, "%02x", data[i]);
  return out;
}

/* the header fields (everything but the sealed body and the signature) as
 * the associated data of the sealing: a digest naming the purpose */
static gboolean
header_aad (const ChatdSlice *fields, guint8 ret_aad[CHATD_DOMAIN_MESSAGE_MAX], gsize *ret_len,
            GError **error)
{
  *ret_len = chatd_domain_message (PURPOSE_SEAL, fields, EN_SEALED, ret_aad, error);
  return *ret_len > 0;
}

static gboolean
fingerprint_of (const ChatdKey *key, guint8 ret[CHATD_FINGERPRINT_LEN], GError **error)
{
  return chatd_key_fingerprint (key, ret, error);
}

GBytes *
chatd_envelope_seal (const ChatdKey *sender_key, const char *sender, const ChatdKey *recipient_public,
                     const char *recipient, const char *text, gsize text_len, gint64 now_ms,
                     ChatdMessage **ret_message, GError **error)
{
  return chatd_envelope_seal_with_id (sender_key, sender, recipient_public, recipient, text, text_len, now_ms, NULL,
                                      ret_message, error);
}

GBytes *
chatd_envelope_seal_with_id (const ChatdKey *sender_key, const char *sender, const ChatdKey *recipient_public,
                             const char *recipient, const char *text, gsize text_len, gint64 now_ms,
                             const guint8 *id, ChatdMessage **ret_message, GError **error)
{
  if (text_len > CHATD_MESSAGE_TEXT_MAX || !g_utf8_validate_len (text, text_len, NULL) ||
      memchr (text, '\0', text_len) != NULL)
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT,
                   text_len > CHATD_MESSAGE_TEXT_MAX ? "message too large (at most 1 MiB)"
                                                     : "message is not UTF-8 text");
      return NULL;
    }
  if (!chatd_suite_has (sender_key->suite, CHATD_SUITE_CAN_SIGN) ||
      !chatd_suite_has (recipient_public->suite, CHATD_SUITE_CAN_SEAL))
    {
      g_set_error (error, CHATD_ERROR, CHATD_ERROR_NOT_SUPPORTED, "the keys cannot sign or seal");
      return NULL;
    }
  g_autoptr(ChatdMessage) message = g_new0 (ChatdMessage, 1);
  if (id != NULL)
    memcpy (message->id, id, sizeof message->id);
  else
    gcry_create_nonce (message->id, sizeof message->id);
  message->id_text = hex (message->id, sizeof message->id);
  message->time_ms = now_ms;
  message->sender = g_strdup (sender);
  message->recipient = g_strdup (recipient);
  message->text = g_strndup (text, text_len);

  guint8 time_be[8], sender_fp[32], recipient_fp[32];
  chatd_u64_to_be ((guint64) now_ms, time_be);
  if (!fingerprint_of (sender_key, sender_fp, error) || !fingerprint_of (recipient_public, recipient_fp, error))
    return NULL;
  ChatdSlice fields[EN_N_FIELDS] = {
    [EN_ID] = CHATD_SLICE (message->id, sizeof message->id),
    [EN_TIME] = CHATD_SLICE (time_be, 8),
    [EN_SENDER] = CHATD_SLICE_STR (sender),
    [EN_RECIPIENT] = CHATD_SLICE_STR (recipient),
    [EN_SENDER_SUITE] = CHATD_SLICE_STR (sender_key->suite->name),
    [EN_RECIPIENT_SUITE] = CHATD_SLICE_STR (recipient_public->suite->name),
    [EN_SENDER_FP] = CHATD_SLICE (sender_fp, 32),
    [EN_RECIPIENT_FP] = CHATD_SLICE (recipient_fp, 32),
  };
  guint8 aad[CHATD_DOMAIN_MESSAGE_MAX];
  gsize aad_len;
  if (!header_aad (fields, aad, &aad_len, error))
    return NULL;
  g_autoptr(GBytes) sealed = recipient_public->suite->seal (recipient_public, aad, aad_len,
                                                            (const guint8 *) text, text_len, error);
  if (sealed == NULL)
    return NULL;
  guint8 sealed_hash[32];
  gcry_md_hash_buffer (GCRY_MD_SHA256, sealed_hash, g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed));
  ChatdSlice signed_fields[EN_SEALED + 1];
  memcpy (signed_fields, fields, sizeof (ChatdSlice) * EN_SEALED);
  signed_fields[EN_SEALED] = CHATD_SLICE (sealed_hash, 32);
  g_autoptr(GBytes) signature = NULL;
  if (!chatd_domain_sign (sender_key, PURPOSE_ENVELOPE, signed_fields, EN_SEALED + 1, &signature, error))
    return NULL;
  fields[EN_SEALED] = CHATD_SLICE (g_bytes_get_data (sealed, NULL), g_bytes_get_size (sealed));
  fields[EN_SIGNATURE] = CHATD_SLICE (g_bytes_get_data (signature, NULL), g_bytes_get_size (signature));
  GBytes *envelope = chatd_auth_message_build (CHATD_MSG_ENVELOPE, fields, EN_N_FIELDS);
  gcry_md_hash_buffer (GCRY_MD_SHA256, message->hash, g_bytes_get_data (envelope, NULL), g_bytes_get_size (envelope));
  *ret_message = g_steal_pointer (&message);
  return envelope;
}

gboolean
chatd_envelope_peek (const ChatdAuthMessage *envelope, char **ret_sender,
                     guint8 ret_fingerprint[CHATD_FINGERPRINT_LEN])
{
  if (envelope->type != CHATD_MSG_ENVELOPE || envelope->fields[EN_SENDER_FP].len != CHATD_FINGERPRINT_LEN)
    return FALSE;
  char *sender = chatd_auth_field_string (envelope, EN_SENDER);
  if (sender == NULL)
    return FALSE;
  *ret_sender = sender;
  memcpy (ret_fingerprint, envelope->fields[EN_SENDER_FP].data, CHATD_FINGERPRINT_LEN);
  return TRUE;
}

static gboolean
refuse (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
refuse (GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *reason = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, CHATD_ERROR, CHATD_ERROR_REFUSED, reason);
  return FALSE;
}

ChatdMessage *
chatd_envelope_open (const ChatdAuthMessage *envelope, const ChatdKey *own_key, const char *own_name,
                     const ChatdKey *sender_public, gint64 now_ms, gint64 ttl_ms, GError **error)
{
  const ChatdSlice *f = envelope->fields;
  g_autofree char *sender = chatd_auth_field_string (envelope, EN_SENDER);
  g_autofree char *recipient = chatd_auth_field_string (envelope, EN_RECIPIENT);
  g_autofree char *sender_suite = chatd_auth_field_string (envelope, EN_SENDER_SUITE);
  g_autofree char *recipient_suite = chatd_auth_field_string (envelope, EN_RECIPIENT_SUITE);
  guint8 own_fp[32], sender_fp[32];
  guint64 time_ms = 0;
  if (sender == NULL || recipient == NULL || sender_suite == NULL || recipient_suite == NULL ||
      !chatd_auth_field_u64 (envelope, EN_TIME, &time_ms) || f[EN_ID].len != CHATD_MESSAGE_ID_LEN ||
      f[EN_SENDER_FP].len != 32 || f[EN_RECIPIENT_FP].len != 32)
    return refuse (error, "malformed envelope"), NULL;
  /* addressed to us, to our current key */
  if (g_ascii_strcasecmp (recipient, own_name) != 0 || !chatd_key_fingerprint (own_key, own_fp, NULL) ||
      memcmp (own_fp, f[EN_RECIPIENT_FP].data, 32) != 0 || g_strcmp0 (recipient_suite, own_key->suite->name) != 0)
    return refuse (error, "envelope from %s is addressed to %s, not to this node's key", sender, recipient), NULL;
  /* signed by the key we know for the sender */
  if (!chatd_key_fingerprint (sender_public, sender_fp, NULL) || memcmp (sender_fp, f[EN_SENDER_FP].data, 32) != 0 ||
      g_strcmp0 (sender_suite, sender_public->suite->name) != 0)
    return refuse (error, "envelope claims a key of %s that is not %s's known key", sender, sender), NULL;
  guint8 sealed_hash[32];
  gcry_md_hash_buffer (GCRY_MD_SHA256, sealed_hash, f[EN_SEALED].data, f[EN_SEALED].len);
  ChatdSlice signed_fields[EN_SEALED + 1];
  memcpy (signed_fields, f, sizeof (ChatdSlice) * EN_SEALED);
  signed_fields[EN_SEALED] = CHATD_SLICE (sealed_hash, 32);
  g_autoptr(GError) local = NULL;
  if (!chatd_domain_verify (sender_public, PURPOSE_ENVELOPE, signed_fields, EN_SEALED + 1,
                            f[EN_SIGNATURE].data, f[EN_SIGNATURE].len, &local))
    return refuse (error, "envelope signature of %s does not verify (forged or altered)", sender), NULL;
  if ((gint64) time_ms > now_ms + CHATD_MESSAGE_FUTURE_MAX_MS)
    return refuse (error, "envelope from %s is dated more than 5 minutes in the future", sender), NULL;
  if ((gint64) time_ms < now_ms - ttl_ms)
    return refuse (error, "envelope from %s is older than the queue's time to live", sender), NULL;
  guint8 aad[CHATD_DOMAIN_MESSAGE_MAX];
  gsize aad_len;
  if (!header_aad (f, aad, &aad_len, error))
    return NULL;
  g_autoptr(GBytes) plain = own_key->suite->open (own_key, aad, aad_len, f[EN_SEALED].data, f[EN_SEALED].len, &local);
  if (plain == NULL)
    return refuse (error, "envelope from %s does not open (altered, or sealed to another key)", sender), NULL;
  gsize text_len;
  const char *text = g_bytes_get_data (plain, &text_len);
  if (text_len > CHATD_MESSAGE_TEXT_MAX || !g_utf8_validate_len (text, text_len, NULL) || memchr (text, '\0', text_len))
    return refuse (error, "envelope from %s holds no UTF-8 text", sender), NULL;
  ChatdMessage *message = g_new0 (ChatdMessage, 1);
  memcpy (message->id, f[EN_ID].data, CHATD_MESSAGE_ID_LEN);
  message->id_text = hex (message->id, CHATD_MESSAGE_ID_LEN);
  message->time_ms = (gint64) time_ms;
  message->sender = g_steal_pointer (&sender);
  message->recipient = g_steal_pointer (&recipient);
  message->text = g_strndup (text, text_len);
  gsize env_len;
  const guint8 *env = g_bytes_get_data (envelope->bytes, &env_len);
  gcry_md_hash_buffer (GCRY_MD_SHA256, message->hash, env, env_len);
  return message;
}

static void
receipt_fields (const ChatdMessage *m, const guint8 *status, ChatdSlice *fields)
{
  fields[RC_ID] = CHATD_SLICE (m->id, CHATD_MESSAGE_ID_LEN);
  fields[RC_SENDER] = CHATD_SLICE_STR (m->sender);
  fields[RC_RECIPIENT] = CHATD_SLICE_STR (m->recipient);
  fields[RC_ENVELOPE_HASH] = CHATD_SLICE (m->hash, 32);
  fields[RC_STATUS] = CHATD_SLICE (status, 1);
}

GBytes *
chatd_receipt_build (const ChatdKey *recipient_key, const ChatdMessage *message, GError **error)
{
  static const guint8 stored = 0;
  ChatdSlice fields[RC_N_FIELDS];
  receipt_fields (message, &stored, fields);
  g_autoptr(GBytes) signature = NULL;
  if (!chatd_domain_sign (recipient_key, PURPOSE_RECEIPT, fields, RC_SIGNATURE, &signature, error))
    return NULL;
  fields[RC_SIGNATURE] = CHATD_SLICE (g_bytes_get_data (signature, NULL), g_bytes_get_size (signature));
  return chatd_auth_message_build (CHATD_MSG_RECEIPT, fields, RC_N_FIELDS);
}

gboolean
chatd_receipt_verify (const ChatdAuthMessage *receipt, const ChatdMessage *sent,
                      const ChatdKey *recipient_public, GError **error)
{
  static const guint8 stored = 0;
  ChatdSlice expected[RC_N_FIELDS];
  receipt_fields (sent, &stored, expected);
  for (guint i = 0; i < RC_SIGNATURE; i++)
    if (receipt->fields[i].len != expected[i].len ||
        memcmp (receipt->fields[i].data, expected[i].data, expected[i].len) != 0)
      return refuse (error, "the receipt for %s does not match the message sent", sent->id_text);
  g_autoptr(GError) local = NULL;
  if (!chatd_domain_verify (recipient_public, PURPOSE_RECEIPT, expected, RC_SIGNATURE,
                            receipt->fields[RC_SIGNATURE].data, receipt->fields[RC_SIGNATURE].len, &local))
    return refuse (error, "the receipt for %s is not signed by %s", sent->id_text, sent->recipient);
  return TRUE;
}
