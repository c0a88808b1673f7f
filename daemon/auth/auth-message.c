/* auth-message.c: typed, schema-checked messages of length-prefixed fields. */
#define G_LOG_DOMAIN "chatd-auth"
#include "auth-message.h"
#include "chatd-wire.h"

#include <chatd/chatd-plugin.h>
#include <string.h>

typedef struct {
  gsize min, max;
} FieldBounds;

typedef struct {
  ChatdMsgType type;
  const char  *name;
  guint        min_fields, max_fields;
  FieldBounds  bounds[CHATD_AUTH_FIELDS_MAX];
} Schema;

#define ANY_KEY      { 1, 4096 }
#define SHARE        { 16, 64 }
#define NONCE16      { 16, 16 }
#define NONCE32      { 32, 32 }
#define U64          { 8, 8 }
#define U8           { 1, 1 }
#define MAC          { 32, 32 }
#define NAME         { 1, 32 }
#define ADDRESS      { 1, 64 }
#define SIGNATURE    { 1, 1024 }
#define TEXT         { 0, 512 }
#define LIST         { 0, 1024 * 1024 }
#define PEER_MAC     { 16, 64 }
/* AEAD (2-byte signature length | signature | MAC) with its tag */
#define PEER_PROOF   { 2 + 1 + 16 + 16, 2 + 1024 + 64 + 32 }
#define SESSION_ID   { 16, 16 }

/* field meanings are in doc/protocol.md; indexes are in login.h */
static const Schema schemas[] = {
  { CHATD_MSG_HELLO, "hello", 3, 3, { NONCE32, SHARE, { 1, 256 } } },
  { CHATD_MSG_CHALLENGE, "challenge", 8, 8,
    { NONCE16, U8, U64, ADDRESS, MAC, SHARE, NAME, ANY_KEY } },
  { CHATD_MSG_ANSWER, "answer", 9, 9,
    { NONCE16, U8, U64, ADDRESS, MAC, NONCE32, SHARE, { 16, 1024 }, U64 } },
  { CHATD_MSG_REPLY, "reply", 6, 6, { NAME, NAME, { 64, 4096 }, NONCE16, U64, SIGNATURE } },
  { CHATD_MSG_PROOF, "proof", 1, 1, { SIGNATURE } },
  { CHATD_MSG_WELCOME, "welcome", 3, 3, { LIST, SIGNATURE, MAC } },
  { CHATD_MSG_FAILED, "failed", 1, 1, { TEXT } },
  { CHATD_MSG_ENROLL_QUERY, "enroll-query", 0, 0, { } },
  { CHATD_MSG_ENROLL_PARAMS, "enroll-params", 3, 3, { U64, U64, U64 } },
  { CHATD_MSG_ENROLL, "enroll", 9, 9,
    { NONCE16, U8, U64, ADDRESS, MAC, NONCE32, SHARE, { 16, 8192 }, U64 } },
  { CHATD_MSG_ENROLLED, "enrolled", 2, 2, { NAME, SIGNATURE } },
  { CHATD_MSG_HEARTBEAT, "heartbeat", 1, 1, { U64 } },
  /* the argument of `queue` is a whole envelope */
  { CHATD_MSG_REQUEST, "request", 2, 3, { U64, NAME, { 0, 1024 * 1024 + 8192 } } },
  { CHATD_MSG_RESPONSE, "response", 3, 4, { U64, U8, LIST, SIGNATURE } },
  { CHATD_MSG_REPLACED, "replaced", 1, 1, { TEXT } },
  { CHATD_MSG_LOGOUT, "logout", 0, 0, { } },
  { CHATD_MSG_ENDED, "ended", 1, 1, { TEXT } },
  { CHATD_MSG_EXPIRED, "expired", 2, 2, { NONCE16, NAME } },
  { CHATD_MSG_ENVELOPE, "envelope", 10, 10,
    { NONCE16, U64, NAME, NAME, NAME, NAME, MAC, MAC, { 16, 1024 * 1024 + 4096 }, SIGNATURE } },
  { CHATD_MSG_RECEIPT, "receipt", 6, 6, { NONCE16, NAME, NAME, MAC, U8, SIGNATURE } },
  /* field indexes: daemon/peer/peer-wire.h */
  { CHATD_MSG_PEER_INIT, "peer-init", 6, 6, { U8, NAME, NAME, NAME, NONCE32, SHARE } },
  { CHATD_MSG_PEER_RESPONSE, "peer-response", 3, 3, { NONCE32, SHARE, PEER_PROOF } },
  { CHATD_MSG_PEER_FINISH, "peer-finish", 1, 1, { PEER_PROOF } },
  { CHATD_MSG_PEER_MESSAGE, "peer-message", 3, 3, { SESSION_ID, U64, { 16, 1024 * 1024 + 4096 } } },
  { CHATD_MSG_PEER_RECEIPT, "peer-receipt", 4, 4, { SESSION_ID, U64, U8, PEER_MAC } },
  /* entries: 1..256 of (counter 8 | status 1), CHATD_PEER_RECEIPTS_MAX */
  { CHATD_MSG_PEER_RECEIPTS, "peer-receipts", 3, 3, { SESSION_ID, { 9, 9 * 256 }, PEER_MAC } },
};

static const Schema *
schema_for (guint type)
{
  for (guint i = 0; i < G_N_ELEMENTS (schemas); i++)
    if (schemas[i].type == type)
      return &schemas[i];
  return NULL;
}

const char *
chatd_auth_message_type_name (ChatdMsgType type)
{
  const Schema *schema = schema_for (type);
  return schema != NULL ? schema->name : "unknown";
}

void
chatd_auth_message_free (ChatdAuthMessage *message)
{
  if (message == NULL)
    return;
  g_bytes_unref (message->bytes);
  g_free (message);
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
  g_set_error (error, CHATD_ERROR, CHATD_ERROR_INVALID_ARGUMENT, "malformed message: %s", reason);
  return FALSE;
}

ChatdAuthMessage *
chatd_auth_message_parse (GBytes *bytes, GError **error)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  ChatdReader reader;
  chatd_reader_init (&reader, data, len);
  guint8 version = 0, type = 0, n_fields = 0;
  if (!chatd_reader_u8 (&reader, &version) || !chatd_reader_u8 (&reader, &type) ||
      !chatd_reader_u8 (&reader, &n_fields))
    return refuse (error, "truncated header (%zu bytes)", len), NULL;
  if (version != CHATD_AUTH_VERSION)
    return refuse (error, "version %u, expected %u", version, CHATD_AUTH_VERSION), NULL;
  const Schema *schema = schema_for (type);
  if (schema == NULL)
    return refuse (error, "unknown type %u", type), NULL;
  if (n_fields < schema->min_fields || n_fields > schema->max_fields)
    return refuse (error, "%s with %u fields", schema->name, n_fields), NULL;

  g_autoptr(ChatdAuthMessage) message = g_new0 (ChatdAuthMessage, 1);
  message->type = type;
  message->n_fields = n_fields;
  message->bytes = g_bytes_ref (bytes);
  for (guint i = 0; i < n_fields; i++)
    {
      guint64 field_len = 0;
      const guint8 *field = NULL;
      if (!chatd_reader_varint (&reader, &field_len) ||
          field_len > chatd_reader_remaining (&reader) ||
          !chatd_reader_bytes (&reader, field_len, &field))
        return refuse (error, "%s field %u truncated", schema->name, i), NULL;
      if (field_len < schema->bounds[i].min || field_len > schema->bounds[i].max)
        return refuse (error, "%s field %u has %" G_GUINT64_FORMAT " bytes (allowed %zu..%zu)",
                       schema->name, i, field_len, schema->bounds[i].min, schema->bounds[i].max), NULL;
      message->fields[i] = CHATD_SLICE (field, field_len);
    }
  if (chatd_reader_remaining (&reader) != 0)
    return refuse (error, "%s has %zu trailing bytes", schema->name, chatd_reader_remaining (&reader)), NULL;
  return g_steal_pointer (&message);
}

GBytes *
chatd_auth_message_build (ChatdMsgType type, const ChatdSlice *fields, guint n_fields)
{
  const Schema *schema = schema_for (type);
  g_return_val_if_fail (schema != NULL, NULL);
  g_return_val_if_fail (n_fields >= schema->min_fields && n_fields <= schema->max_fields, NULL);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  const guint8 header[3] = { CHATD_AUTH_VERSION, type, n_fields };
  g_byte_array_append (out, header, sizeof header);
  for (guint i = 0; i < n_fields; i++)
    {
      g_return_val_if_fail (fields[i].len >= schema->bounds[i].min &&
                            fields[i].len <= schema->bounds[i].max, NULL);
      guint8 prefix[8];
      ChatdWriter writer;
      chatd_writer_init (&writer, prefix, sizeof prefix);
      chatd_writer_varint (&writer, fields[i].len);
      g_byte_array_append (out, prefix, sizeof prefix - chatd_writer_remaining (&writer));
      if (fields[i].len > 0)
        g_byte_array_append (out, fields[i].data, fields[i].len);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

void
chatd_u64_to_be (guint64 value, guint8 ret_bytes[8])
{
  for (int i = 7; i >= 0; i--, value >>= 8)
    ret_bytes[i] = value & 0xff;
}

gboolean
chatd_auth_field_u64 (const ChatdAuthMessage *message, guint index, guint64 *ret_value)
{
  if (index >= message->n_fields || message->fields[index].len != 8)
    return FALSE;
  const guint8 *p = message->fields[index].data;
  guint64 v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | p[i];
  *ret_value = v;
  return TRUE;
}

char *
chatd_auth_field_string (const ChatdAuthMessage *message, guint index)
{
  if (index >= message->n_fields)
    return NULL;
  const ChatdSlice *f = &message->fields[index];
  if (memchr (f->data, '\0', f->len) != NULL || !g_utf8_validate_len (f->data, f->len, NULL))
    return NULL;
  return g_strndup (f->data, f->len);
}
