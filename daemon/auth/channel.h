/* channel.h: the keys of a protected channel (user node <-> server, later
 * user node <-> user node), derived from an X25519 shared secret and the
 * transcript hash, and the transport packet protector built on them.  The
 * suite provides the primitives; nothing here names an algorithm. */
#pragma once
#include <chatd/suite.h>
#include "chatd-crypto.h"
#include "chatd-packet.h"

typedef struct _ChatdChannel ChatdChannel;

#define CHATD_CHANNEL_CONFIRM_LEN 32

/* shared: the key exchange's output; transcript_hash: SHA-256 of what both
 * sides saw.  is_initiator picks which derived key sends and which receives. */
ChatdChannel *chatd_channel_new (const ChatdSuite *suite, const guint8 *shared, gsize shared_len,
                                 const guint8 transcript_hash[32], gboolean is_initiator,
                                 GError **error);
/* A channel from two directional keys (aead_key_len bytes each) that
 * another key schedule derived (peer sessions, daemon/peer); it has no
 * confirm key of its own. */
ChatdChannel *chatd_channel_new_with_keys (const ChatdSuite *suite, const guint8 *send_key,
                                           const guint8 *receive_key, GError **error);
void          chatd_channel_free (ChatdChannel *channel);
/* The key both sides use to confirm they derived the same keys; NULL for a
 * channel made by chatd_channel_new_with_keys (it has none). */
const guint8 *chatd_channel_confirm_key (ChatdChannel *channel);
/* A protector for chatd_connection_install_protector; it takes the channel
 * (freed with the connection).  With a suite that has CAN_AEAD_CONTEXT it
 * keeps one keyed cipher per direction and sets only the nonce (the packet
 * number) and the associated data (the header) per packet. */
ChatdPacketProtector chatd_channel_take_protector (ChatdChannel *channel);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ChatdChannel, chatd_channel_free)
