/* chatd-crc32.c: CRC-32 with carry-less multiplication on 512-bit registers.
 *
 * The classic folding method (Gopal et al., "Fast CRC Computation for
 * Generic Polynomials Using PCLMULQDQ", Intel 2009), in the reflected
 * domain: a 128-bit lane X is moved D bits further along the message by
 * clmul (X.lo, k(D + 32)) ^ clmul (X.hi, k(D - 32)), which keeps it
 * congruent modulo P; four 512-bit accumulators take 256 bytes per step,
 * are folded into one, then into 128 bits, and the last 16 bytes plus the
 * tail (< 16 bytes) go through tables (slicing by 8).  The constants are computed,
 * not copied: chatd_crc32_fold_constant () (test-codec checks it against
 * the published ones and the whole function against libgcrypt).
 */
#include "chatd-crc32.h"

#include <string.h>

#define POLY_REFLECTED 0xedb88320u
#define FAST_MIN_LEN 256

/* slicing by 8: table[0] is the byte table, table[k][i] the CRC of byte i
 * followed by k zero bytes */
static guint32 table[8][256];

static void
build_table (void)
{
  for (guint32 i = 0; i < 256; i++)
    {
      guint32 c = i;
      for (int k = 0; k < 8; k++)
        c = (c & 1) ? (c >> 1) ^ POLY_REFLECTED : c >> 1;
      table[0][i] = c;
    }
  for (guint32 i = 0; i < 256; i++)
    for (int k = 1; k < 8; k++)
      table[k][i] = (table[k - 1][i] >> 8) ^ table[0][table[k - 1][i] & 0xff];
}

static inline guint32
load_le32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

static guint32
crc_bytes (guint32 crc, const guint8 *p, gsize n)
{
  for (; n >= 8; p += 8, n -= 8)
    {
      guint32 lo = crc ^ load_le32 (p);
      guint32 hi = load_le32 (p + 4);
      crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
            table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
            table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
    }
  while (n--)
    crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

guint64
chatd_crc32_fold_constant (guint n)
{
  /* reflected: bit 31 is the coefficient of x^0; multiplying by x shifts
   * right, and x^32 reduces to the polynomial */
  guint32 r = 0x80000000u;
  for (guint i = 0; i < n; i++)
    r = (r & 1) ? (r >> 1) ^ POLY_REFLECTED : r >> 1;
  return (guint64) r << 1;
}

static void
put_be32 (guint32 v, guint8 out[4])
{
  out[0] = (guint8) (v >> 24);
  out[1] = (guint8) (v >> 16);
  out[2] = (guint8) (v >> 8);
  out[3] = (guint8) v;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang_analyzer__)
#define HAVE_FOLDING 1
#include <immintrin.h>

static guint64 k2080, k2016, k544, k480, k160, k96;

#define FOLD_TARGET __attribute__ ((target ("avx512f,avx512vl,vpclmulqdq,pclmul,avx2")))

FOLD_TARGET static inline __m512i
fold512 (__m512i x, __m512i k, __m512i next)
{
  __m512i lo = _mm512_clmulepi64_epi128 (x, k, 0x00);
  __m512i hi = _mm512_clmulepi64_epi128 (x, k, 0x11);
  return _mm512_ternarylogic_epi64 (lo, hi, next, 0x96); /* lo ^ hi ^ next */
}

FOLD_TARGET static inline __m128i
fold128 (__m128i x, __m128i k, __m128i next)
{
  __m128i lo = _mm_clmulepi64_si128 (x, k, 0x00);
  __m128i hi = _mm_clmulepi64_si128 (x, k, 0x11);
  return _mm_xor_si128 (_mm_xor_si128 (lo, hi), next);
}

/* len >= FAST_MIN_LEN; returns the register before the final XOR */
FOLD_TARGET static guint32
crc_fold (const guint8 *p, gsize len)
{
  const __m512i k2048 = _mm512_set4_epi64 ((long long) k2016, (long long) k2080, (long long) k2016,
                                           (long long) k2080);
  const __m512i k512 = _mm512_set4_epi64 ((long long) k480, (long long) k544, (long long) k480,
                                          (long long) k544);
  const __m128i k128 = _mm_set_epi64x ((long long) k96, (long long) k160);
  __m512i x0 = _mm512_loadu_si512 ((const void *) p);
  __m512i x1 = _mm512_loadu_si512 ((const void *) (p + 64));
  __m512i x2 = _mm512_loadu_si512 ((const void *) (p + 128));
  __m512i x3 = _mm512_loadu_si512 ((const void *) (p + 192));

  /* the initial value 0xffffffff, XORed into the first 32 bits */
  x0 = _mm512_xor_si512 (x0, _mm512_set_epi32 (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1));
  p += 256;
  len -= 256;
  while (len >= 256)
    {
      x0 = fold512 (x0, k2048, _mm512_loadu_si512 ((const void *) p));
      x1 = fold512 (x1, k2048, _mm512_loadu_si512 ((const void *) (p + 64)));
      x2 = fold512 (x2, k2048, _mm512_loadu_si512 ((const void *) (p + 128)));
      x3 = fold512 (x3, k2048, _mm512_loadu_si512 ((const void *) (p + 192)));
      p += 256;
      len -= 256;
    }
  x0 = fold512 (x0, k512, x1);
  x0 = fold512 (x0, k512, x2);
  x0 = fold512 (x0, k512, x3);
  while (len >= 64)
    {
      x0 = fold512 (x0, k512, _mm512_loadu_si512 ((const void *) p));
      p += 64;
      len -= 64;
    }
  __m128i v = _mm512_extracti32x4_epi32 (x0, 0);
  v = fold128 (v, k128, _mm512_extracti32x4_epi32 (x0, 1));
  v = fold128 (v, k128, _mm512_extracti32x4_epi32 (x0, 2));
  v = fold128 (v, k128, _mm512_extracti32x4_epi32 (x0, 3));
  while (len >= 16)
    {
      v = fold128 (v, k128, _mm_loadu_si128 ((const __m128i *) (const void *) p));
      p += 16;
      len -= 16;
    }
  guint8 last[16];
  _mm_storeu_si128 ((__m128i *) (void *) last, v);
  /* leave the upper register state clean: no saving it on context switches,
   * no transition penalties in the SSE code that follows */
  _mm256_zeroupper ();
  return crc_bytes (crc_bytes (0, last, sizeof last), p, len);
}
#endif

static gsize init_state; /* 1: generic, 2: folding */

static gboolean
accelerated (void)
{
  if (g_once_init_enter (&init_state))
    {
      gsize state = 1;
      build_table ();
#ifdef HAVE_FOLDING
      __builtin_cpu_init ();
      if (__builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512vl") &&
          __builtin_cpu_supports ("vpclmulqdq") && __builtin_cpu_supports ("pclmul") &&
          g_getenv ("CHATD_CRC32_GENERIC") == NULL)
        {
          k2080 = chatd_crc32_fold_constant (2048 + 32);
          k2016 = chatd_crc32_fold_constant (2048 - 32);
          k544 = chatd_crc32_fold_constant (512 + 32);
          k480 = chatd_crc32_fold_constant (512 - 32);
          k160 = chatd_crc32_fold_constant (128 + 32);
          k96 = chatd_crc32_fold_constant (128 - 32);
          state = 2;
        }
#endif
      g_once_init_leave (&init_state, state);
    }
  return init_state == 2;
}

gboolean
chatd_crc32_is_accelerated (void)
{
  return accelerated ();
}

gboolean
chatd_crc32_fast (const guint8 *data, gsize len, guint8 ret_crc[4])
{
  if (!accelerated ())
    return FALSE;
#ifdef HAVE_FOLDING
  if (len >= FAST_MIN_LEN)
    {
      put_be32 (~crc_fold (data, len), ret_crc);
      return TRUE;
    }
#endif
  put_be32 (~crc_bytes (0xffffffffu, data, len), ret_crc);
  return TRUE;
}

guint32
chatd_crc32_bytewise (const guint8 *data, gsize len)
{
  (void) accelerated (); /* builds the table */
  return ~crc_bytes (0xffffffffu, data, len);
}
