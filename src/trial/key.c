/* The trial key: a 256-bit secret in a file of its own (mode 0600, never in the
 * database), the subkeys derived from it (crypto_kdf), sealing of arms and settings
 * (XChaCha20-Poly1305 with the slot as associated data) and pack numbering. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "trial/trial_internal.h"

#define KEY_MAGIC "leopards-trial-key-v1"
#define KEY_FILE_MAX 65536 /* a key file is a few lines; comments may be long, but not this long */

/* The folder of a key file must not let anybody else replace the file: it is owned by
 * this user or root, and writable by nobody else (a group that is the user's own
 * private group, as Debian makes, is the user). */
static lp_status check_folder(const char *path, lp_error *err) {
  char copy[4096];
  snprintf(copy, sizeof copy, "%s", path);
  const char *dir = dirname(copy);
  struct stat sb;
  if (stat(dir, &sb) != 0)
    return lp_error_set(err, LP_EIO, "%s: cannot look at the folder %s: %s", path, dir, strerror(errno));
  uid_t me = geteuid();
  if (sb.st_uid != me && sb.st_uid != 0)
    return lp_error_set(err, LP_EDENIED,
                        "%s is in a folder owned by another user (%s, uid %u); refusing to use it: keep the key in a "
                        "folder of your own",
                        path, dir, (unsigned)sb.st_uid);
  bool group_is_me = false;
  if (sb.st_mode & S_IWGRP) {
    struct passwd *pw = getpwuid(me);
    struct group *gr = getgrgid(sb.st_gid);
    group_is_me = pw && gr && pw->pw_gid == sb.st_gid && !strcmp(gr->gr_name, pw->pw_name) &&
                  (!gr->gr_mem[0] || (!strcmp(gr->gr_mem[0], pw->pw_name) && !gr->gr_mem[1]));
  }
  if ((sb.st_mode & S_IWOTH) || ((sb.st_mode & S_IWGRP) && !group_is_me))
    return lp_error_set(err, LP_EDENIED,
                        "%s is in a folder that others can write (%s, mode %04o), so the key could be replaced; "
                        "refusing to use it: keep the key in a folder only you can write",
                        path, dir, (unsigned)(sb.st_mode & 07777));
  return LP_OK;
}

static lp_status derive(lp_trial_key *k, lp_error *err) {
  if (crypto_kdf_derive_from_key(k->seal, 32, 1, "LPSEAL01", k->secret) ||
      crypto_kdf_derive_from_key(k->pack, 32, 1, "LPPACK01", k->secret) ||
      crypto_kdf_derive_from_key(k->check, 32, 1, "LPCHECK1", k->secret))
    return lp_error_set(err, LP_EUNSUPPORTED, "key derivation failed");
  return LP_OK;
}

static lp_trial_key *key_alloc(void) {
  lp_trial_key *k = sodium_malloc(sizeof *k);
  if (k) sodium_memzero(k, sizeof *k);
  return k;
}

void lp_key_free(lp_trial_key *k) {
  if (k) sodium_free(k); /* wipes the memory */
}

/* Create the key file with the given secret (NULL: a fresh one from libsodium). */
/* Write a secret file (a list or audit key): O_EXCL, so an existing key is never
 * overwritten; mode 0600 from the start, so there is no window of wider access;
 * synced before it counts as written, and removed again on any failure. `a_what`
 * ("a key") and `file_what` ("key file") name it in messages. */
lp_status lp__write_secret_file(const char *path, const char *text, size_t len, const char *a_what,
                                const char *file_what, lp_error *err) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      return lp_error_set(err, LP_ESTATE, "%s already exists: %s is never overwritten", path, a_what);
    return lp_error_set(err, LP_EIO, "%s: cannot create the %s: %s", path, file_what, strerror(errno));
  }
  if (fchmod(fd, 0600) != 0) {
    close(fd);
    unlink(path);
    return lp_error_set(err, LP_EIO, "%s: cannot set mode 0600: %s", path, strerror(errno));
  }
  ssize_t w = write(fd, text, len);
  bool ok = w == (ssize_t)len && fsync(fd) == 0;
  if (close(fd) != 0) ok = false;
  if (!ok) {
    unlink(path);
    return lp_error_set(err, LP_EIO, "%s: cannot write the %s: %s", path, file_what, strerror(errno));
  }
  return LP_OK;
}

static lp_status create_key(lp_trial *t, const char *path, const uint8_t *secret, lp_trial_key **out, lp_error *err) {
  *out = NULL;
  if (sodium_init() < 0) return lp_error_set(err, LP_EUNSUPPORTED, "libsodium failed to start");
  lp_trial_key *k = key_alloc();
  if (!k) return lp_error_set(err, LP_ENOMEM, "out of memory for the key");
  if (secret) memcpy(k->secret, secret, sizeof k->secret);
  else
    randombytes_buf(k->secret, sizeof k->secret);
  memcpy(k->trial_id, t->trial_id, LP__ID_BYTES);
  lp_status s = derive(k, err);
  if (s) {
    lp_key_free(k);
    return s;
  }
  if ((s = check_folder(path, err))) {
    lp_key_free(k);
    return s;
  }
  char idhex[2 * LP__ID_BYTES + 1], sechex[2 * LP__SECRET_BYTES + 1], text[512];
  lp__hex(k->trial_id, LP__ID_BYTES, idhex);
  lp__hex(k->secret, LP__SECRET_BYTES, sechex);
  int len = snprintf(text, sizeof text,
                     "%s\n# Whoever holds this file can see every allocation of the trial.\n"
                     "# Keep it apart from the database, readable by its owner only.\n"
                     "trial %s\nsecret %s\n",
                     KEY_MAGIC, idhex, sechex);
  sodium_memzero(sechex, sizeof sechex);
  s = lp__write_secret_file(path, text, (size_t)len, "a key", "key file", err);
  sodium_memzero(text, sizeof text);
  if (s) {
    lp_key_free(k);
    return s;
  }
  *out = k;
  return LP_OK;
}

lp_status lp_key_create(lp_trial *t, const char *path, lp_trial_key **out, lp_error *err) {
  return create_key(t, path, NULL, out, err);
}

lp_status lp_key_create_simulated(lp_trial *t, const char *path, uint64_t seed, lp_trial_key **out, lp_error *err) {
  *out = NULL;
  if (!lp_trial_is_simulated(t))
    return lp_error_set(err, LP_EDENIED, "%s: a key derived from a seed is only for simulated trials", t->path);
  if (sodium_init() < 0) return lp_error_set(err, LP_EUNSUPPORTED, "libsodium failed to start");
  /* BLAKE2b of a fixed label and the seed: the same seed gives the same lists. */
  uint8_t msg[40], secret[LP__SECRET_BYTES];
  memcpy(msg, "leopards-simulated-trial", 24);
  for (int i = 0; i < 8; i++) msg[24 + i] = (uint8_t)(seed >> (8 * i));
  memset(msg + 32, 0, 8);
  crypto_generichash(secret, sizeof secret, msg, sizeof msg, NULL, 0);
  lp_status s = create_key(t, path, secret, out, err);
  sodium_memzero(secret, sizeof secret);
  return s;
}

lp_status lp_key_load(lp_trial *t, const char *path, lp_trial_key **out, lp_error *err) {
  *out = NULL;
  if (sodium_init() < 0) return lp_error_set(err, LP_EUNSUPPORTED, "libsodium failed to start");
  int fd = open(path, O_RDONLY | O_NOFOLLOW);
  if (fd < 0) return lp_error_set(err, LP_EIO, "%s: cannot open the key file: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return lp_error_set(err, LP_EDENIED, "%s is not a regular file", path);
  }
  if (sb.st_mode & 077) {
    close(fd);
    return lp_error_set(err, LP_EDENIED,
                        "%s is accessible to others (mode %04o); refusing to use it: run "
                        "'chmod 600 %s' and check who may have read it",
                        path, (unsigned)(sb.st_mode & 07777), path);
  }
  if (sb.st_uid != geteuid()) {
    close(fd);
    return lp_error_set(err, LP_EDENIED,
                        "%s is owned by another user (uid %u); refusing to use it: a key file belongs to "
                        "the one who uses it",
                        path, (unsigned)sb.st_uid);
  }
  lp_status s = check_folder(path, err);
  if (s) {
    close(fd);
    return s;
  }
  if (sb.st_size > KEY_FILE_MAX) {
    close(fd);
    return lp_error_set(err, LP_EPARSE,
                        "%s is %lld bytes, too large for a key file (at most %d: the key's lines and a "
                        "short comment)",
                        path, (long long)sb.st_size, KEY_FILE_MAX);
  }
  char *text = sodium_malloc(KEY_FILE_MAX + 1);
  if (!text) {
    close(fd);
    return lp_error_set(err, LP_ENOMEM, "out of memory for the key");
  }
  size_t n = 0;
  for (ssize_t r; n < KEY_FILE_MAX && (r = read(fd, text + n, KEY_FILE_MAX - n)) != 0;) {
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    n += (size_t)r;
  }
  close(fd);
  if (n == 0) {
    sodium_free(text);
    return lp_error_set(err, LP_EIO, "%s: cannot read the key file (empty?)", path);
  }
  text[n] = '\0';
  lp_trial_key *k = key_alloc();
  if (!k) {
    sodium_free(text);
    return lp_error_set(err, LP_ENOMEM, "out of memory for the key");
  }
  bool magic = false, have_id = false, have_secret = false;
  long line = 0;
  for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && !s; l = strtok_r(NULL, "\n", &save)) {
    line++;
    if (l[0] == '#' || !l[0]) continue;
    if (!strcmp(l, KEY_MAGIC)) magic = true;
    else if (!strncmp(l, "trial ", 6))
      have_id = lp__unhex(l + 6, k->trial_id, LP__ID_BYTES);
    else if (!strncmp(l, "secret ", 7))
      have_secret = lp__unhex(l + 7, k->secret, LP__SECRET_BYTES);
    else
      s = lp_error_at(err, LP_EPARSE, path, line, NULL, "unexpected line in the key file");
  }
  sodium_free(text); /* wipes it */
  if (!s && (!magic || !have_id || !have_secret))
    s = lp_error_set(err, LP_EPARSE, "%s is not a leopards trial key (needs the %s header, a trial and a secret line)",
                     path, KEY_MAGIC);
  if (!s) s = derive(k, err);
  if (!s && t) s = lp__key_matches(t, k, err);
  if (s) {
    lp_key_free(k);
    return s;
  }
  *out = k;
  return LP_OK;
}

lp_status lp__key_check_value(const lp_trial_key *k, char hex[65]) {
  static const char what[] = "leopards key check v1";
  uint8_t in[sizeof what + LP__ID_BYTES], mac[32];
  memcpy(in, what, sizeof what);
  memcpy(in + sizeof what, k->trial_id, LP__ID_BYTES);
  crypto_generichash(mac, 32, in, sizeof in, k->check, 32);
  lp__hex(mac, 32, hex);
  return LP_OK;
}

lp_status lp__key_matches(lp_trial *t, const lp_trial_key *k, lp_error *err) {
  if (!k) return lp__with_field(err, "key", lp_error_set(err, LP_EINVAL, "this needs the list key"));
  if (sodium_memcmp(k->trial_id, t->trial_id, LP__ID_BYTES))
    return lp_error_set(err, LP_EDENIED, "the key file belongs to another trial than %s", t->path);
  char stored[80], mine[65];
  bool found;
  lp_status s = lp__meta_get(t, "key_check", stored, sizeof stored, &found, err);
  if (s) return s;
  lp__key_check_value(k, mine);
  if (found && sodium_memcmp(stored, mine, 64))
    return lp_error_set(err, LP_EDENIED,
                        "the key file does not open this trial's list (a different secret for "
                        "the same trial id)");
  return LP_OK;
}

/* Associated data of a slot: domain, trial, site, sequence and pack. */
static size_t slot_ad(const lp_trial_key *k, long site_id, long seq, long pack, uint8_t *ad) {
  static const char dom[] = "leopards slot v1";
  size_t n = 0;
  memcpy(ad, dom, sizeof dom);
  n += sizeof dom;
  memcpy(ad + n, k->trial_id, LP__ID_BYTES);
  n += LP__ID_BYTES;
  long v[3] = {site_id, seq, pack};
  for (int i = 0; i < 3; i++)
    for (int b = 0; b < 8; b++) ad[n++] = (uint8_t)((unsigned long long)v[i] >> (8 * b));
  return n;
}

lp_status lp__seal_arm(const lp_trial_key *k, long site_id, long seq, long pack, int arm, uint8_t nonce[24],
                       uint8_t sealed[17]) {
  uint8_t ad[64], m = (uint8_t)arm;
  size_t adn = slot_ad(k, site_id, seq, pack, ad);
  unsigned long long clen;
  randombytes_buf(nonce, 24);
  crypto_aead_xchacha20poly1305_ietf_encrypt(sealed, &clen, &m, 1, ad, adn, NULL, nonce, k->seal);
  return clen == 17 ? LP_OK : LP_EUNSUPPORTED;
}

lp_status lp__open_arm(const lp_trial_key *k, long site_id, long seq, long pack, const uint8_t *nonce, size_t nlen,
                       const uint8_t *sealed, size_t slen, int *arm, lp_error *err) {
  uint8_t ad[64], m = 0xff;
  unsigned long long mlen = 0;
  size_t adn = slot_ad(k, site_id, seq, pack, ad);
  if (nlen != 24 || slen != 17 ||
      crypto_aead_xchacha20poly1305_ietf_decrypt(&m, &mlen, NULL, sealed, slen, ad, adn, nonce, k->seal) != 0 ||
      mlen != 1 || m > 1)
    return lp_error_set(err, LP_EINTEGRITY,
                        "the sealed arm of slot %ld of site number %ld (pack %ld) does not open with "
                        "this key: the slot was altered, swapped or moved",
                        seq, site_id, pack);
  *arm = m;
  return LP_OK;
}

#define SETTING_LEN 64
lp_status lp__seal_text(const lp_trial_key *k, const char *what, const char *text, char *hex, size_t n, lp_error *err) {
  uint8_t m[SETTING_LEN] = {0}, c[24 + SETTING_LEN + 16];
  size_t len = strlen(text);
  if (len >= SETTING_LEN || n < 2 * sizeof c + 1) return lp_error_set(err, LP_EINVAL, "setting too long to seal");
  memcpy(m, text, len);
  randombytes_buf(c, 24);
  unsigned long long clen;
  crypto_aead_xchacha20poly1305_ietf_encrypt(c + 24, &clen, m, SETTING_LEN, (const uint8_t *)what, strlen(what), NULL,
                                             c, k->seal);
  lp__hex(c, sizeof c, hex);
  return LP_OK;
}

lp_status lp__open_text(const lp_trial_key *k, const char *what, const char *hex, char *text, size_t n, lp_error *err) {
  uint8_t m[SETTING_LEN + 1], c[24 + SETTING_LEN + 16];
  unsigned long long mlen;
  if (!lp__unhex(hex, c, sizeof c) ||
      crypto_aead_xchacha20poly1305_ietf_decrypt(m, &mlen, NULL, c + 24, sizeof c - 24, (const uint8_t *)what,
                                                 strlen(what), c, k->seal) != 0)
    return lp_error_set(err, LP_EINTEGRITY, "the sealed setting '%s' does not open with this key", what);
  m[SETTING_LEN] = '\0';
  snprintf(text, n, "%s", (const char *)m);
  return LP_OK;
}

/* Pack numbers: a 20-bit balanced Feistel network (8 rounds, BLAKE2b keyed by the pack
 * subkey as round function) is a permutation of 0..2^20-1; cycle walking restricts it
 * to 0..899999. Consecutive slots get numbers that look random, never repeat, and
 * carry nothing about arm or block. */
static uint32_t feistel(const lp_trial_key *k, uint32_t x) {
  uint32_t l = x >> 10, r = x & 0x3ff;
  for (uint8_t round = 0; round < 8; round++) {
    uint8_t in[3] = {round, (uint8_t)r, (uint8_t)(r >> 8)}, h[16];
    crypto_generichash(h, sizeof h, in, sizeof in, k->pack, 32);
    uint32_t f = ((uint32_t)h[0] | (uint32_t)h[1] << 8) & 0x3ff;
    uint32_t nl = r, nr = l ^ f;
    l = nl;
    r = nr;
  }
  return l << 10 | r;
}

long lp__pack_number(const lp_trial_key *k, long g) {
  if (g < 0 || g >= 900000) return -1;
  uint32_t x = (uint32_t)g;
  do x = feistel(k, x);
  while (x >= 900000);
  return 100000 + (long)x;
}
