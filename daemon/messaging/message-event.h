/* message-event.h: the data of a `message` event (doc/protocol.md, "Events"),
 * built for every message a node stores, so built flat and fast. */
#pragma once
#include "envelope.h"

/* Exactly chatd_vardict_with_time (chatd_message_to_variant (message),
 * "stored-us", stored_us) (the inbox's view of the message: id, from, to,
 * time, text; then stored-us), written in one buffer without GDateTime or
 * format strings.  Returns a floating a{sv}. */
GVariant *chatd_message_event_data (const ChatdMessage *message, gint64 stored_us);
