/* chatd-packet.h: the packet layer's header, integrity trailer and
 * protection hook.
 *
 * Every datagram is one packet:
 *
 *   version (1) | type+flags (1) | destination connection id (8) |
 *   packet number (8) | type-specific fields | frames | trailer
 *
 * The trailer is a CRC32 (libgcrypt's GCRY_MD_CRC32, big-endian) over
 * everything before it, or, once both sides of a connection have installed a
 * ChatdPacketProtector, an AEAD tag of the protector's length.  The wire
 * format is documented in doc/protocol.md ("Transport").
 */
#pragma once

#include <glib.h>

#include "chatd-wire.h"

G_BEGIN_DECLS

#define CHATD_PROTOCOL_VERSION 1
#define CHATD_PACKET_HEADER_LEN 18
#define CHATD_CRC_LEN 4
#define CHATD_MIN_INITIAL_SIZE 1200
#define CHATD_MAX_TOKEN_LEN 64
#define CHATD_MAX_DATAGRAM_DEFAULT 1452
/* Upper bound of a datagram we ever build or accept (the configured maximum
 * may be lower). */
#define CHATD_MAX_DATAGRAM_LIMIT 1472

typedef enum
{
  CHATD_PACKET_INITIAL = 1, /* client -> server: opens a connection */
  CHATD_PACKET_RETRY = 2,   /* server -> client: stateless cookie */
  CHATD_PACKET_DATA = 3,    /* frames on an established connection */
} ChatdPacketType;

#define CHATD_PACKET_TYPE_MASK 0x0f
#define CHATD_PACKET_FLAG_PROTECTED 0x80
/* DATA with PROTECTED only: which of the connection's keys sealed the packet
 * (flips at every key update, as QUIC's key phase; part of the associated
 * data, so authenticated). */
#define CHATD_PACKET_FLAG_KEY_PHASE 0x40
#define CHATD_PACKET_FLAGS_RESERVED 0x30

/* Transport parameters carried by INITIAL and by the ACCEPT frame. */
typedef struct
{
  guint64 max_data;        /* connection-level flow-control credit */
  guint64 max_stream_data; /* initial credit per stream */
  guint64 max_streams;     /* streams the peer may open */
} ChatdTransportParams;

typedef struct
{
  guint8 type;
  gboolean protected_;
  guint8 key_phase; /* 0 or 1; only with protected_ */
  guint64 dcid;
  guint64 pn;
  /* INITIAL only */
  guint64 scid;
  ChatdTransportParams params;
  /* INITIAL and RETRY */
  const guint8 *token;
  gsize token_len;
  /* Bytes before the frames (the associated data of an AEAD). */
  gsize header_len;
} ChatdPacketHeader;

typedef enum
{
  CHATD_PACKET_OK = 0,
  CHATD_PACKET_TOO_SHORT,
  CHATD_PACKET_BAD_VERSION,
  CHATD_PACKET_BAD_TYPE,
  CHATD_PACKET_MALFORMED,
} ChatdPacketParseResult;

/* Parses the header of datagram @data (no integrity check yet). */
ChatdPacketParseResult chatd_packet_parse_header (const guint8 *data, gsize len,
                                                  ChatdPacketHeader *ret_header);

/* Writes a header; returns its length or 0 if @cap is too small.  For
 * INITIAL and RETRY fill scid/params/token as the type requires. */
gsize chatd_packet_write_header (guint8 *buf, gsize cap, const ChatdPacketHeader *header);

/* A reusable CRC32 context: libgcrypt's gcry_md_open() is costly (it polls
 * for entropy on every call), so the hot path keeps one handle open per
 * endpoint and only resets it. */
typedef struct
{
  gpointer handle; /* gcry_md_hd_t */
} ChatdCrc;

void     chatd_crc_init   (ChatdCrc *crc);
void     chatd_crc_clear  (ChatdCrc *crc);
void     chatd_crc_append (ChatdCrc *crc, guint8 *buf, gsize len);
gboolean chatd_crc_check  (ChatdCrc *crc, const guint8 *data, gsize len);

/* CRC32 of @data as four big-endian bytes (one-shot versions). */
void     chatd_crc32 (const guint8 *data, gsize len, guint8 ret_crc[4]);
/* Appends the CRC of buf[0..len) at buf[len]; the caller reserved 4 bytes. */
void     chatd_packet_append_crc (guint8 *buf, gsize len);
/* TRUE if the last four bytes of @data are the CRC of the rest. */
gboolean chatd_packet_check_crc (const guint8 *data, gsize len);

/* ChatdPacketProtector: installed by an upper layer on one connection once
 * it has keys (chatd_connection_install_protector).  The transport names no
 * algorithm.  seal() encrypts @payload in place and writes tag_len bytes of
 * tag; open() verifies the tag and decrypts in place, returning FALSE if the
 * packet is not authentic.  The header is the associated data; the packet
 * number is unique per direction and connection, so it can build the
 * nonce, provided the two directions use different keys (or mix the
 * direction into the nonce).  free_func, if set, is called on user_data when
 * the connection goes away. */
typedef struct
{
  gsize tag_len; /* 8..32 */
  gboolean (*seal) (gpointer user_data, guint64 pn,
                    const guint8 *header, gsize header_len,
                    guint8 *payload, gsize payload_len, guint8 *ret_tag);
  gboolean (*open) (gpointer user_data, guint64 pn,
                    const guint8 *header, gsize header_len,
                    guint8 *payload, gsize payload_len, const guint8 *tag);
  void (*free_func) (gpointer user_data);
  gpointer user_data;
} ChatdPacketProtector;

G_END_DECLS
