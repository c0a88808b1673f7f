/* chatd-wire.h: bounds-checked readers and writers for wire formats.
 *
 * A ChatdReader never reads past its end: every accessor returns FALSE and
 * leaves its output untouched when the input is too short, and the reader
 * remembers the failure (ok = FALSE) so that a parser may check once at the
 * end.  Variable-length integers use the QUIC encoding (RFC 9000, 16): the
 * two top bits of the first byte give the length (1, 2, 4 or 8 bytes), the
 * rest is a big-endian value of at most 62 bits.
 */
#pragma once

#include <glib.h>
#include <string.h>

G_BEGIN_DECLS

#define CHATD_VARINT_MAX ((G_GUINT64_CONSTANT (1) << 62) - 1)

typedef struct
{
  const guint8 *pos;
  const guint8 *end;
  gboolean ok;
} ChatdReader;

typedef struct
{
  guint8 *pos;
  guint8 *end;
  gboolean ok;
} ChatdWriter;

static inline void
chatd_reader_init (ChatdReader *r, const guint8 *data, gsize len)
{
  /* empty input may come as NULL (an empty GBytes): arithmetic on a null
   * pointer, even + 0, is undefined, so point at a real (empty) place */
  static const guint8 nothing[1];
  if (data == NULL)
    data = nothing;
  r->pos = data;
  r->end = data + len;
  r->ok = TRUE;
}

static inline gsize
chatd_reader_remaining (const ChatdReader *r)
{
  return (gsize) (r->end - r->pos);
}

static inline gboolean
chatd_reader_fail (ChatdReader *r)
{
  r->ok = FALSE;
  r->pos = r->end;
  return FALSE;
}

static inline gboolean
chatd_reader_u8 (ChatdReader *r, guint8 *ret_v)
{
  if (r->pos >= r->end)
    return chatd_reader_fail (r);
  *ret_v = *r->pos++;
  return TRUE;
}

static inline gboolean
chatd_reader_u64 (ChatdReader *r, guint64 *ret_v)
{
  if (chatd_reader_remaining (r) < 8)
    return chatd_reader_fail (r);
  guint64 v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | r->pos[i];
  r->pos += 8;
  *ret_v = v;
  return TRUE;
}

static inline gboolean
chatd_reader_bytes (ChatdReader *r, gsize len, const guint8 **ret_p)
{
  if (chatd_reader_remaining (r) < len)
    return chatd_reader_fail (r);
  *ret_p = r->pos;
  r->pos += len;
  return TRUE;
}

static inline gboolean
chatd_reader_varint (ChatdReader *r, guint64 *ret_v)
{
  if (r->pos >= r->end)
    return chatd_reader_fail (r);
  gsize len = (gsize) 1 << (r->pos[0] >> 6);
  if (chatd_reader_remaining (r) < len)
    return chatd_reader_fail (r);
  guint64 v = r->pos[0] & 0x3f;
  for (gsize i = 1; i < len; i++)
    v = (v << 8) | r->pos[i];
  r->pos += len;
  *ret_v = v;
  return TRUE;
}

static inline void
chatd_writer_init (ChatdWriter *w, guint8 *buf, gsize cap)
{
  w->pos = buf;
  w->end = buf + cap;
  w->ok = TRUE;
}

static inline gsize
chatd_writer_remaining (const ChatdWriter *w)
{
  return (gsize) (w->end - w->pos);
}

static inline gboolean
chatd_writer_u8 (ChatdWriter *w, guint8 v)
{
  if (w->pos >= w->end)
    return (w->ok = FALSE);
  *w->pos++ = v;
  return TRUE;
}

static inline gboolean
chatd_writer_u64 (ChatdWriter *w, guint64 v)
{
  if (chatd_writer_remaining (w) < 8)
    return (w->ok = FALSE);
  for (int i = 7; i >= 0; i--)
    {
      w->pos[i] = v & 0xff;
      v >>= 8;
    }
  w->pos += 8;
  return TRUE;
}

static inline gboolean
chatd_writer_bytes (ChatdWriter *w, const void *data, gsize len)
{
  if (chatd_writer_remaining (w) < len)
    return (w->ok = FALSE);
  if (len > 0)
    memcpy (w->pos, data, len);
  w->pos += len;
  return TRUE;
}

static inline gsize
chatd_varint_size (guint64 v)
{
  if (v < 64)
    return 1;
  if (v < 16384)
    return 2;
  if (v < 1073741824)
    return 4;
  return 8;
}

static inline gboolean
chatd_writer_varint (ChatdWriter *w, guint64 v)
{
  if (v > CHATD_VARINT_MAX)
    return (w->ok = FALSE);
  gsize len = chatd_varint_size (v);
  if (chatd_writer_remaining (w) < len)
    return (w->ok = FALSE);
  guint8 prefix = len == 1 ? 0x00 : len == 2 ? 0x40 : len == 4 ? 0x80 : 0xc0;
  for (gsize i = len; i-- > 0;)
    {
      w->pos[i] = v & 0xff;
      v >>= 8;
    }
  w->pos[0] |= prefix;
  w->pos += len;
  return TRUE;
}

G_END_DECLS
