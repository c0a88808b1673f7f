/* chatd-packet.c: packet header codec and CRC32 trailer. */
#include "chatd-packet.h"
#include "chatd-crc32.h"

#include <gcrypt.h>
#include <string.h>

ChatdPacketParseResult
chatd_packet_parse_header (const guint8 *data, gsize len, ChatdPacketHeader *ret_header)
{
  ChatdReader r;
  ChatdPacketHeader h = { 0 };
  guint8 version = 0, type_flags = 0;

  chatd_reader_init (&r, data, len);
  if (len < CHATD_PACKET_HEADER_LEN + CHATD_CRC_LEN)
    return CHATD_PACKET_TOO_SHORT;
  chatd_reader_u8 (&r, &version);
  if (version != CHATD_PROTOCOL_VERSION)
    return CHATD_PACKET_BAD_VERSION;
  chatd_reader_u8 (&r, &type_flags);
  if (type_flags & CHATD_PACKET_FLAGS_RESERVED)
    return CHATD_PACKET_BAD_TYPE; /* reserved bits */
  h.type = type_flags & CHATD_PACKET_TYPE_MASK;
  h.protected_ = (type_flags & CHATD_PACKET_FLAG_PROTECTED) != 0;
  h.key_phase = (type_flags & CHATD_PACKET_FLAG_KEY_PHASE) ? 1 : 0;
  if (h.key_phase && !h.protected_)
    return CHATD_PACKET_BAD_TYPE; /* a key phase only names keys */
  chatd_reader_u64 (&r, &h.dcid);
  chatd_reader_u64 (&r, &h.pn);
  switch (h.type)
    {
    case CHATD_PACKET_DATA:
      break;
    case CHATD_PACKET_INITIAL:
    case CHATD_PACKET_RETRY:
      {
        guint8 token_len;
        if (h.protected_)
          return CHATD_PACKET_BAD_TYPE;
        if (h.type == CHATD_PACKET_INITIAL)
          {
            chatd_reader_u64 (&r, &h.scid);
            chatd_reader_varint (&r, &h.params.max_data);
            chatd_reader_varint (&r, &h.params.max_stream_data);
            chatd_reader_varint (&r, &h.params.max_streams);
          }
        chatd_reader_u8 (&r, &token_len);
        if (!r.ok || token_len > CHATD_MAX_TOKEN_LEN)
          return CHATD_PACKET_MALFORMED;
        h.token_len = token_len;
        if (!chatd_reader_bytes (&r, token_len, &h.token))
          return CHATD_PACKET_MALFORMED;
        if (token_len == 0)
          h.token = NULL;
      }
      break;
    default:
      return CHATD_PACKET_BAD_TYPE;
    }
  if (!r.ok || chatd_reader_remaining (&r) < CHATD_CRC_LEN)
    return CHATD_PACKET_MALFORMED;
  h.header_len = (gsize) (r.pos - data);
  *ret_header = h;
  return CHATD_PACKET_OK;
}

gsize
chatd_packet_write_header (guint8 *buf, gsize cap, const ChatdPacketHeader *h)
{
  ChatdWriter w;
  chatd_writer_init (&w, buf, cap);
  chatd_writer_u8 (&w, CHATD_PROTOCOL_VERSION);
  chatd_writer_u8 (&w, (h->type & CHATD_PACKET_TYPE_MASK) |
                       (h->protected_ ? CHATD_PACKET_FLAG_PROTECTED : 0) |
                       (h->protected_ && h->key_phase ? CHATD_PACKET_FLAG_KEY_PHASE : 0));
  chatd_writer_u64 (&w, h->dcid);
  chatd_writer_u64 (&w, h->pn);
  if (h->type == CHATD_PACKET_INITIAL)
    {
      chatd_writer_u64 (&w, h->scid);
      chatd_writer_varint (&w, h->params.max_data);
      chatd_writer_varint (&w, h->params.max_stream_data);
      chatd_writer_varint (&w, h->params.max_streams);
    }
  if (h->type == CHATD_PACKET_INITIAL || h->type == CHATD_PACKET_RETRY)
    {
      if (h->token_len > CHATD_MAX_TOKEN_LEN)
        return 0;
      chatd_writer_u8 (&w, (guint8) h->token_len);
      chatd_writer_bytes (&w, h->token, h->token_len);
    }
  return w.ok ? (gsize) (w.pos - buf) : 0;
}

void
chatd_crc32 (const guint8 *data, gsize len, guint8 ret_crc[4])
{
  if (!chatd_crc32_fast (data, len, ret_crc))
    gcry_md_hash_buffer (GCRY_MD_CRC32, ret_crc, data, len);
}

void
chatd_packet_append_crc (guint8 *buf, gsize len)
{
  chatd_crc32 (buf, len, buf + len);
}

gboolean
chatd_packet_check_crc (const guint8 *data, gsize len)
{
  guint8 crc[4];
  if (len < CHATD_CRC_LEN)
    return FALSE;
  chatd_crc32 (data, len - CHATD_CRC_LEN, crc);
  return memcmp (crc, data + len - CHATD_CRC_LEN, CHATD_CRC_LEN) == 0;
}

void
chatd_crc_init (ChatdCrc *crc)
{
  gcry_md_hd_t h = NULL;
  if (gcry_md_open (&h, GCRY_MD_CRC32, 0) != 0)
    g_error ("libgcrypt has no CRC32");
  crc->handle = h;
}

void
chatd_crc_clear (ChatdCrc *crc)
{
  if (crc->handle)
    gcry_md_close ((gcry_md_hd_t) crc->handle);
  crc->handle = NULL;
}

static void
crc_compute (ChatdCrc *crc, const guint8 *data, gsize len, guint8 out[4])
{
  gcry_md_hd_t h = crc->handle;
  if (chatd_crc32_fast (data, len, out))
    return;
  gcry_md_reset (h);
  gcry_md_write (h, data, len);
  memcpy (out, gcry_md_read (h, GCRY_MD_CRC32), CHATD_CRC_LEN);
}

void
chatd_crc_append (ChatdCrc *crc, guint8 *buf, gsize len)
{
  crc_compute (crc, buf, len, buf + len);
}

gboolean
chatd_crc_check (ChatdCrc *crc, const guint8 *data, gsize len)
{
  guint8 out[4];
  if (len < CHATD_CRC_LEN)
    return FALSE;
  crc_compute (crc, data, len - CHATD_CRC_LEN, out);
  return memcmp (out, data + len - CHATD_CRC_LEN, CHATD_CRC_LEN) == 0;
}
