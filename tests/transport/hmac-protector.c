/* hmac-protector.c: test packet protector (see hmac-protector.h). */
#include "hmac-protector.h"

#include <gcrypt.h>
#include <string.h>

typedef struct
{
  guint8 send_key[32];
  guint8 recv_key[32];
  guint *freed;
} TestKeys;

static void
tag_of (const guint8 key[32], guint64 pn, const guint8 *header, gsize header_len,
        const guint8 *payload, gsize payload_len, guint8 out[16])
{
  gcry_mac_hd_t h;
  guint8 mac[32];
  gsize mac_len = sizeof mac;
  g_assert (gcry_mac_open (&h, GCRY_MAC_HMAC_SHA256, 0, NULL) == 0);
  gcry_mac_setkey (h, key, 32);
  gcry_mac_write (h, &pn, sizeof pn);
  gcry_mac_write (h, header, header_len);
  gcry_mac_write (h, payload, payload_len);
  gcry_mac_read (h, mac, &mac_len);
  gcry_mac_close (h);
  memcpy (out, mac, 16);
}

static void
toy_xor (const guint8 key[32], guint64 pn, guint8 *payload, gsize len)
{
  for (gsize i = 0; i < len; i++)
    payload[i] ^= key[(i + pn) % 32];
}

static gboolean
test_seal (gpointer user_data, guint64 pn, const guint8 *header, gsize header_len,
           guint8 *payload, gsize payload_len, guint8 *ret_tag)
{
  TestKeys *k = user_data;
  toy_xor (k->send_key, pn, payload, payload_len);
  tag_of (k->send_key, pn, header, header_len, payload, payload_len, ret_tag);
  return TRUE;
}

static gboolean
test_open (gpointer user_data, guint64 pn, const guint8 *header, gsize header_len,
           guint8 *payload, gsize payload_len, const guint8 *tag)
{
  TestKeys *k = user_data;
  guint8 expect[16];
  tag_of (k->recv_key, pn, header, header_len, payload, payload_len, expect);
  if (memcmp (expect, tag, 16) != 0)
    return FALSE;
  toy_xor (k->recv_key, pn, payload, payload_len);
  return TRUE;
}

static void
test_free (gpointer user_data)
{
  TestKeys *k = user_data;
  if (k->freed)
    (*k->freed)++;
  memset (k, 0, sizeof *k);
  g_free (k);
}

ChatdPacketProtector
hmac_protector_make (gboolean client_side, guint8 generation, guint *freed)
{
  TestKeys *k = g_new0 (TestKeys, 1);
  memset (client_side ? k->send_key : k->recv_key, 0x11 + 0x20 * generation, 32);
  memset (client_side ? k->recv_key : k->send_key, 0x22 + 0x20 * generation, 32);
  k->freed = freed;
  return (ChatdPacketProtector) { .tag_len = 16, .seal = test_seal, .open = test_open,
                                  .free_func = test_free, .user_data = k };
}

void
hmac_protector_install (ChatdConnection *conn, gboolean client_side)
{
  ChatdPacketProtector p = hmac_protector_make (client_side, 0, NULL);
  g_autoptr(GError) error = NULL;
  if (!chatd_connection_install_protector (conn, &p, &error))
    p.free_func (p.user_data);
}
