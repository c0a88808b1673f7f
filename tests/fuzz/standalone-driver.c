/* standalone-driver.c: runs a libFuzzer harness without libFuzzer.
 *
 * Used by the gcc build so that `make check` gives every harness a short
 * smoke run: first every file of the seed corpus, then mutations of them
 * (bit flips, truncations, extensions, splices and pure random inputs) from a
 * seeded generator until the time budget is spent.  `make fuzz` builds the
 * same harnesses with clang -fsanitize=fuzzer instead.
 *
 * usage: fuzz-NAME [--seconds N] [--seed N] [CORPUS_DIR...]
 */
#include <glib.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT 65536

static void
mutate (GRand *rand, GByteArray *out, GPtrArray *corpus)
{
  g_byte_array_set_size (out, 0);
  if (corpus->len == 0 || g_rand_int_range (rand, 0, 8) == 0)
    {
      guint len = g_rand_int_range (rand, 0, 2048);
      for (guint i = 0; i < len; i++)
        {
          guint8 b = g_rand_int (rand) & 0xff;
          g_byte_array_append (out, &b, 1);
        }
      return;
    }
  GBytes *seed = g_ptr_array_index (corpus, g_rand_int_range (rand, 0, corpus->len));
  gsize seed_len;
  const guint8 *seed_data = g_bytes_get_data (seed, &seed_len);
  g_byte_array_append (out, seed_data, seed_len);
  guint rounds = g_rand_int_range (rand, 1, 6);
  for (guint r = 0; r < rounds; r++)
    {
      switch (g_rand_int_range (rand, 0, 5))
        {
        case 0: /* bit flip */
          if (out->len > 0)
            out->data[g_rand_int_range (rand, 0, out->len)] ^= 1u << g_rand_int_range (rand, 0, 8);
          break;
        case 1: /* truncate */
          if (out->len > 0)
            g_byte_array_set_size (out, g_rand_int_range (rand, 0, out->len));
          break;
        case 2: /* random byte */
          if (out->len > 0)
            out->data[g_rand_int_range (rand, 0, out->len)] = g_rand_int (rand) & 0xff;
          break;
        case 3: /* extend */
          {
            guint n = g_rand_int_range (rand, 1, 64);
            for (guint i = 0; i < n && out->len < FUZZ_MAX_INPUT; i++)
              {
                guint8 b = g_rand_int (rand) & 0xff;
                g_byte_array_append (out, &b, 1);
              }
          }
          break;
        default: /* interesting values at a random place */
          if (out->len >= 4)
            {
              static const guint32 interesting[] = { 0, 0xffffffffu, 0x7fffffffu, 0x80000000u, 1, 0xffff };
              guint32 v = interesting[g_rand_int_range (rand, 0, G_N_ELEMENTS (interesting))];
              memcpy (out->data + g_rand_int_range (rand, 0, out->len - 3), &v, 4);
            }
          break;
        }
    }
}

static void
load_corpus (const char *dir_path, GPtrArray *corpus)
{
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  if (dir == NULL)
    return;
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, name, NULL);
      char *contents = NULL;
      gsize len = 0;
      if (g_file_get_contents (path, &contents, &len, NULL) && len <= FUZZ_MAX_INPUT)
        g_ptr_array_add (corpus, g_bytes_new_take (contents, len));
      else
        g_free (contents);
    }
}

int
main (int argc, char **argv)
{
  double seconds = 2.0;
  gint64 seed = 1;
  g_autoptr(GPtrArray) corpus = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--seconds") && i + 1 < argc)
        seconds = g_ascii_strtod (argv[++i], NULL);
      else if (g_str_equal (argv[i], "--seed") && i + 1 < argc)
        seed = g_ascii_strtoll (argv[++i], NULL, 10);
      else
        load_corpus (argv[i], corpus);
    }

  for (guint i = 0; i < corpus->len; i++)
    {
      gsize len;
      const guint8 *d = g_bytes_get_data (g_ptr_array_index (corpus, i), &len);
      LLVMFuzzerTestOneInput (d, len);
    }

  g_autoptr(GRand) rand = g_rand_new_with_seed ((guint32) seed);
  g_autoptr(GByteArray) input = g_byte_array_new ();
  gint64 deadline = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);
  guint64 runs = 0;
  while (g_get_monotonic_time () < deadline)
    {
      mutate (rand, input, corpus);
      LLVMFuzzerTestOneInput (input->data, input->len);
      runs++;
    }
  g_print ("%s: %u corpus inputs, %" G_GUINT64_FORMAT " mutated runs in %.1f s, no crash\n",
           argv[0], corpus->len, runs, seconds);
  return 0;
}
