/* chatd-crc32.h: CRC-32 (IEEE 802.3, the one of libgcrypt's GCRY_MD_CRC32)
 * of the packet trailer, with a VPCLMULQDQ (AVX-512) path.
 *
 * libgcrypt's CRC32 runs at about 7.8 GB/s here: 8.7 µs per 64 KiB
 * message, paid once by the sender and once by the receiver, which made it
 * most of what a 64 KiB echo costs above raw UDP (doc/transport.md,
 * "Where a 64 KiB echo's time goes").  Folding 256 bytes per step with
 * carry-less multiplications on 512-bit registers does the same in a
 * fraction of that; CPUs without VPCLMULQDQ and AVX-512 use libgcrypt. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE if the fast path is used on this CPU (set CHATD_CRC32_GENERIC in
 * the environment to turn it off, for comparisons). */
gboolean chatd_crc32_is_accelerated (void);

/* The CRC-32 of @data as libgcrypt's GCRY_MD_CRC32 gives it (initial value
 * and final XOR 0xffffffff, reflected), most significant byte first, as on
 * the wire.  Returns FALSE without touching @ret_crc when there is no fast
 * path: the caller then uses libgcrypt. */
gboolean chatd_crc32_fast (const guint8 *data, gsize len, guint8 ret_crc[4]);

/* The same with tables only, no carry-less multiplication (the tests' reference
 * besides libgcrypt). */
guint32 chatd_crc32_bytewise (const guint8 *data, gsize len);

/* The folding constant for a distance of @n bits: (x^n mod P), reflected
 * and shifted left by one (the form of the Intel white paper and of
 * Linux's crc32-pclmul, e.g. x^64 gives 0x163cd6124). */
guint64 chatd_crc32_fold_constant (guint n);

G_END_DECLS
