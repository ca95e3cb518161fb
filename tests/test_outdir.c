/* Output folders (leopards/outdir.h) and the text rules (leopards/text.h): a folder is
 * replaced only when its marker lists everything in it; begin/abort leave nothing; a
 * commit swaps in whole; removal unlinks the listed entries only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <leopards/outdir.h>
#include <leopards/text.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void put(const char *dir, const char *name, const char *text) {
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int exists(const char *dir, const char *name) {
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  struct stat sb;
  return lstat(p, &sb) == 0;
}

static size_t entries(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  closedir(d);
  return n;
}

static void test_outdir(void **state) {
  (void)state;
  char root[] = "/tmp/lp-outdir-XXXXXX";
  assert_non_null(mkdtemp(root));
  char out[512];
  snprintf(out, sizeof out, "%s/report", root);
  lp_error err;
  lp_outdir *o;
  /* A new folder: written, with a marker. */
  assert_int_equal(lp_outdir_begin(out, "test", &o, &err), LP_OK);
  assert_int_equal(entries(root), 1); /* only the staging folder */
  put(lp_outdir_path(o), "a.csv", "x\n");
  char sub[600];
  snprintf(sub, sizeof sub, "%s/data", lp_outdir_path(o));
  assert_int_equal(mkdir(sub, 0755), 0);
  put(sub, "b.csv", "y\n");
  assert_int_equal(lp_outdir_allow(o, "t.db-wal", &err), LP_OK);
  assert_int_equal(lp_outdir_commit(o, &err), LP_OK);
  assert_true(exists(out, "a.csv") && exists(out, "data/b.csv") && exists(out, LP_OUTDIR_MARKER));
  assert_int_equal(entries(root), 1);
  /* Replaced by a new one; a file that may come and go is ours. */
  put(out, "t.db-wal", "");
  assert_int_equal(lp_outdir_check(out, &err), LP_OK);
  assert_int_equal(lp_outdir_begin(out, "test", &o, &err), LP_OK);
  put(lp_outdir_path(o), "c.csv", "z\n");
  assert_int_equal(lp_outdir_commit(o, &err), LP_OK);
  assert_true(exists(out, "c.csv") && !exists(out, "a.csv") && !exists(out, "data"));
  assert_int_equal(entries(root), 1);
  /* Abort leaves the folder as it was and no staging folder. */
  assert_int_equal(lp_outdir_begin(out, "test", &o, &err), LP_OK);
  put(lp_outdir_path(o), "d.csv", "w\n");
  lp_outdir_abort(o);
  lp_outdir_abort(NULL);
  assert_true(exists(out, "c.csv") && !exists(out, "d.csv"));
  assert_int_equal(entries(root), 1);
  /* A user's file makes the folder the user's: refused by every call, untouched. */
  put(out, "note.txt", "mine");
  assert_int_equal(lp_outdir_check(out, &err), LP_EDENIED);
  assert_non_null(strstr(err.message, "note.txt"));
  assert_int_equal(lp_outdir_begin(out, "test", &o, &err), LP_EDENIED);
  assert_null(o);
  assert_int_equal(lp_outdir_remove(out, &err), LP_EDENIED);
  assert_true(exists(out, "note.txt") && exists(out, "c.csv"));
  assert_int_equal(entries(root), 1);
  /* The folder changes between begin and commit: the commit is refused, nothing lost. */
  char p[600];
  snprintf(p, sizeof p, "%s/note.txt", out);
  unlink(p);
  assert_int_equal(lp_outdir_begin(out, "test", &o, &err), LP_OK);
  put(out, "late.txt", "mine too");
  assert_int_equal(lp_outdir_commit(o, &err), LP_EDENIED);
  assert_true(exists(out, "late.txt") && exists(out, "c.csv"));
  assert_int_equal(entries(root), 1);
  snprintf(p, sizeof p, "%s/late.txt", out);
  unlink(p);
  /* Removal of our folder: everything listed goes, and the folder. */
  assert_int_equal(lp_outdir_remove(out, &err), LP_OK);
  assert_false(exists(root, "report"));
  assert_int_equal(lp_outdir_remove(out, &err), LP_OK); /* absent: nothing to do */
  /* A folder without a marker: empty is fine, anything in it is refused. */
  assert_int_equal(mkdir(out, 0755), 0);
  assert_int_equal(lp_outdir_check(out, &err), LP_OK);
  put(out, "trial.db", "");
  assert_int_equal(lp_outdir_begin(out, "test", &o, &err), LP_EDENIED);
  assert_non_null(strstr(err.message, "trial.db"));
  /* A forged marker does not make a link ours. */
  put(out, LP_OUTDIR_MARKER, "leopards output folder 1\nf\ttrial.db\nf\tlink\n");
  snprintf(p, sizeof p, "%s/link", out);
  assert_int_equal(symlink("/etc/passwd", p), 0);
  assert_int_equal(lp_outdir_check(out, &err), LP_EDENIED);
  assert_non_null(strstr(err.message, "link"));
  assert_true(exists("/etc", "passwd"));
  unlink(p);
  /* A forged marker naming a file outside the folder: not ours, nothing outside touched. */
  put(root, "outside.txt", "keep");
  put(out, LP_OUTDIR_MARKER, "leopards output folder 1\nf\ttrial.db\nf\t../outside.txt\n");
  assert_int_equal(lp_outdir_remove(out, &err), LP_EDENIED);
  assert_true(exists(root, "outside.txt") && exists(out, "trial.db"));
  snprintf(p, sizeof p, "%s/outside.txt", root);
  unlink(p);
  put(out, LP_OUTDIR_MARKER, "leopards output folder 1\nf\ttrial.db\n");
  assert_int_equal(lp_outdir_remove(out, &err), LP_OK);
  assert_false(exists(root, "report"));
  /* "." and ".." are not output folders. */
  assert_int_equal(lp_outdir_begin(".", "test", &o, &err), LP_EINVAL);
  snprintf(p, sizeof p, "%s/..", root);
  assert_int_equal(lp_outdir_begin(p, "test", &o, &err), LP_EINVAL);
  assert_int_equal(mkdir(out, 0755), 0);
  o = NULL;
  assert_int_equal(lp_outdir_begin(out, "test", &o, &err), LP_OK);
  assert_int_equal(lp_outdir_allow(o, "../x", &err), LP_EINVAL);
  lp_outdir_abort(o);
  assert_int_equal(rmdir(out), 0);
  /* A file in place of the folder, and a folder under a file. */
  put(root, "file", "");
  snprintf(p, sizeof p, "%s/file", root);
  assert_int_equal(lp_outdir_begin(p, "test", &o, &err), LP_EIO);
  snprintf(p, sizeof p, "%s/file/x", root);
  assert_int_equal(lp_outdir_begin(p, "test", &o, &err), LP_EIO);
  snprintf(p, sizeof p, "%s/file", root);
  unlink(p);
  assert_int_equal(rmdir(root), 0);
}

static void test_text(void **state) {
  (void)state;
  size_t bad;
  assert_true(lp_utf8_valid("caf\xc3\xa9 \xe5\xae\xb6 \xf0\x9f\x98\x80", 14, NULL));
  assert_false(lp_utf8_valid("caf\xe9", 4, &bad));
  assert_int_equal(bad, 3);
  assert_false(lp_utf8_valid("ab\0c", 4, &bad));
  assert_int_equal(bad, 2);
  assert_int_equal(lp_utf8_seq("\xc0\xaf", 2), 0);         /* overlong */
  assert_int_equal(lp_utf8_seq("\xed\xa0\x80", 3), 0);     /* surrogate */
  assert_int_equal(lp_utf8_seq("\xf4\x90\x80\x80", 4), 0); /* above U+10FFFF */
  assert_int_equal(lp_utf8_seq("\xe2\x82", 2), 0);         /* cut short */
  assert_int_equal(lp_utf8_seq("\xe2\x82\xac", 3), 3);
  lp_error err;
  assert_int_equal(lp_text_check_identifier("S01", "the site code", 32, &err), LP_OK);
  assert_int_equal(lp_text_check_identifier("Zo\xc3\xab", "the user name", 63, &err), LP_OK);
  assert_int_equal(lp_text_check_identifier("S1\x1b[2J", "the site code", 32, &err), LP_EINVAL);
  assert_string_equal(err.message,
                      "the site code has a control character (U+001B) at character 3: only printable "
                      "characters are allowed");
  assert_int_equal(lp_text_check_identifier("a\xc2\x85", "x", 32, &err), LP_EINVAL); /* C1 NEL */
  assert_int_equal(lp_text_check_identifier("a\xe2\x80\xae"
                                            "b",
                                            "x", 32, &err),
                   LP_EINVAL);
  assert_int_equal(lp_text_check_identifier("", "x", 32, &err), LP_EINVAL);
  assert_int_equal(lp_text_check_identifier("abcd", "x", 3, &err), LP_EINVAL);
  char *u;
  size_t n;
  assert_int_equal(lp_latin1_to_utf8("p\xe8re", 4, &u, &n, &err), LP_OK);
  assert_string_equal(u, "p\xc3\xa8re");
  assert_int_equal(n, 5);
  free(u);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_outdir), cmocka_unit_test(test_text)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
