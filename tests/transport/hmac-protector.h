/* hmac-protector.h: a ChatdPacketProtector for tests: HMAC-SHA256 tags
 * (16 bytes) and a toy XOR transformation to show in-place processing.
 * Not a cipher: for exercising the transport's hook only. */
#pragma once

#include "chatd-endpoint.h"

/* Installs on @conn; the client side and the server side use mirrored keys. */
void hmac_protector_install (ChatdConnection *conn, gboolean client_side);

/* A protector of key generation @generation (each generation has other
 * keys; 0 is what hmac_protector_install uses).  If @freed is not NULL, its
 * free_func adds one to *@freed. */
ChatdPacketProtector hmac_protector_make (gboolean client_side, guint8 generation, guint *freed);
