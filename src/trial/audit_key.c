/* The audit key: a 256-bit secret in a file of its own (mode 0600, never in the
 * database) under which every audit entry from its installation on carries a MAC
 * (keyed BLAKE2b of the entry's hash), so that whoever holds only the database file
 * cannot add, remove, edit or reorder entries undetected. Installing, loading and
 * handing the key to a handle; the MAC itself. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "trial/trial_internal.h"

#define AUDIT_KEY_MAGIC "leopards-audit-key-v1"

struct lp_audit_key {
  uint8_t secret[LP__SECRET_BYTES];
  uint8_t trial_id[LP__ID_BYTES];
  uint8_t mac[32];   /* MAC key (derived) */
  uint8_t check[32]; /* its public check value, recorded as setting audit_key */
};

static lp_audit_key *akey_alloc(void) {
  lp_audit_key *k = sodium_malloc(sizeof *k);
  if (k) sodium_memzero(k, sizeof *k);
  return k;
}

void lp_audit_key_free(lp_audit_key *k) {
  if (k) sodium_free(k); /* wipes the memory */
}

static lp_status derive(lp_audit_key *k, lp_error *err) {
  uint8_t check_key[32];
  if (crypto_kdf_derive_from_key(k->mac, 32, 1, "LPAUDMAC", k->secret) ||
      crypto_kdf_derive_from_key(check_key, 32, 1, "LPAUDCHK", k->secret))
    return lp_error_set(err, LP_EUNSUPPORTED, "key derivation failed");
  /* The check value names the key without revealing it: a keyed hash of the trial id. */
  crypto_generichash(k->check, 32, k->trial_id, LP__ID_BYTES, check_key, 32);
  sodium_memzero(check_key, sizeof check_key);
  return LP_OK;
}

void lp_audit_key_default_path(const char *db, char *buf, size_t n) { snprintf(buf, n, "%s.audit-key", db); }

void lp__audit_mac(const lp_audit_key *k, long entry, const uint8_t hash[32], uint8_t out[32]) {
  static const char domain[] = "leopards audit mac v1";
  uint8_t id[8];
  for (int i = 0; i < 8; i++) id[i] = (uint8_t)((unsigned long long)entry >> (8 * i));
  crypto_generichash_state h;
  crypto_generichash_init(&h, k->mac, 32, 32);
  crypto_generichash_update(&h, (const uint8_t *)domain, sizeof domain);
  crypto_generichash_update(&h, id, 8);
  crypto_generichash_update(&h, hash, 32);
  crypto_generichash_final(&h, out, 32);
}

void lp__audit_key_check_hex(const lp_audit_key *k, char hex[65]) { lp__hex(k->check, 32, hex); }

bool lp__audit_key_for_trial(const lp_audit_key *k, const uint8_t trial_id[LP__ID_BYTES]) {
  return sodium_memcmp(k->trial_id, trial_id, LP__ID_BYTES) == 0;
}

/* Write the key file (lp__write_secret_file: never overwriting, mode 0600). */
static lp_status write_key_file(const lp_audit_key *k, const char *path, lp_error *err) {
  char idhex[2 * LP__ID_BYTES + 1], sechex[2 * LP__SECRET_BYTES + 1], text[640];
  lp__hex(k->trial_id, LP__ID_BYTES, idhex);
  lp__hex(k->secret, LP__SECRET_BYTES, sechex);
  int len = snprintf(text, sizeof text,
                     "%s\n# Whoever holds this file and the database can rewrite the audit trail.\n"
                     "# Keep it on the server, apart from the database and its backups,\n"
                     "# readable by its owner only.\n"
                     "trial %s\nsecret %s\n",
                     AUDIT_KEY_MAGIC, idhex, sechex);
  sodium_memzero(sechex, sizeof sechex);
  lp_status s = lp__write_secret_file(path, text, (size_t)len, "an audit key", "audit key file", err);
  sodium_memzero(text, sizeof text);
  return s;
}

/* The trial's recorded audit key check value, "" when the trial has none. */
static lp_status recorded_check(lp_trial *t, char hex[80], lp_error *err) {
  bool found = false;
  return lp__meta_get(t, "audit_key", hex, 80, &found, err);
}

static lp_status stored_trial_id(lp_trial *t, uint8_t id[LP__ID_BYTES], lp_error *err) {
  char buf[80];
  bool found = false;
  lp_status s = lp__meta_get(t, "trial_id", buf, sizeof buf, &found, err);
  if (s) return s;
  if (!found || !lp__unhex(buf, id, LP__ID_BYTES))
    return lp_error_set(err, LP_EINTEGRITY, "%s: the trial id is missing or malformed", t->path);
  return LP_OK;
}

lp_status lp_audit_key_install(lp_trial *t, const char *path, const char *user, lp_error *err) {
  if (sodium_init() < 0) return lp_error_set(err, LP_EUNSUPPORTED, "libsodium failed to start");
  if (t->schema_version < 3)
    return lp_error_set(err, LP_ESTATE, "%s: schema version %d has no keyed audit trail; upgrade the file first",
                        t->path, t->schema_version);
  lp_audit_key *k = akey_alloc();
  if (!k) return lp_error_set(err, LP_ENOMEM, "out of memory for the audit key");
  randombytes_buf(k->secret, sizeof k->secret);
  lp_status s;
  bool file_made = false;
  const lp_audit_key *before = t->audit_key;
  if ((s = lp__begin(t, err))) goto out;
  char hex[80];
  if ((s = stored_trial_id(t, k->trial_id, err)) || (s = derive(k, err)) || (s = recorded_check(t, hex, err)))
    goto fail;
  if (hex[0]) {
    s = lp_error_set(err, LP_ESTATE, "%s already has an audit key; it is never replaced", t->path);
    goto fail;
  }
  /* A locked trial may still gain its key (at its upgrade): the key's setting is no
   * trial data, and its entry keys the trail that follows. */
  if ((s = lp__user_check(t, user, (1u << LP_ROLE_MANAGER) | (1u << LP_ROLE_STATISTICIAN), 0, "install the audit key",
                          err)))
    goto fail;
  if ((s = write_key_file(k, path, err))) goto fail;
  file_made = true;
  memcpy(t->trial_id, k->trial_id, LP__ID_BYTES); /* the stored id, whichever way the handle was opened */
  /* The setting's own entry is the first one under the key. */
  t->audit_key = k;
  lp__audit_key_check_hex(k, hex);
  s = lp__meta_set(t, "audit_key", hex, user, "audit key installed", err);
  if (!s) s = lp__commit(t, err);
  if (s) {
    t->audit_key = before;
    goto fail;
  }
  lp_audit_key_free(t->own_audit_key);
  t->own_audit_key = k;
  return LP_OK;
fail:
  lp__rollback(t);
  /* Nobody can have used the file: a key counts only once its setting is committed. */
  if (file_made) unlink(path);
out:
  lp_audit_key_free(k);
  return s;
}

lp_status lp_audit_key_load(lp_trial *t, const char *path, lp_audit_key **out, lp_error *err) {
  *out = NULL;
  if (sodium_init() < 0) return lp_error_set(err, LP_EUNSUPPORTED, "libsodium failed to start");
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return lp_error_set(err, LP_EIO, "%s: cannot open the audit key file: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return lp_error_set(err, LP_EDENIED, "%s is not a regular file", path);
  }
  if (sb.st_mode & 077) {
    close(fd);
    return lp_error_set(err, LP_EDENIED,
                        "%s is accessible to others (mode %04o); refusing to use it: make it readable "
                        "by its owner only and check who may have read it",
                        path, (unsigned)(sb.st_mode & 07777));
  }
  if (sb.st_uid != geteuid()) {
    close(fd);
    return lp_error_set(err, LP_EDENIED, "%s belongs to another user (uid %u); refusing to use it", path,
                        (unsigned)sb.st_uid);
  }
  char text[1024];
  ssize_t n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return lp_error_set(err, LP_EIO, "%s: cannot read the audit key file", path);
  text[n] = '\0';
  lp_audit_key *k = akey_alloc();
  if (!k) {
    sodium_memzero(text, sizeof text);
    return lp_error_set(err, LP_ENOMEM, "out of memory for the audit key");
  }
  bool magic = false, have_id = false, have_secret = false;
  long line = 0;
  lp_status s = LP_OK;
  for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && !s; l = strtok_r(NULL, "\n", &save)) {
    line++;
    if (l[0] == '#' || !l[0]) continue;
    if (!strcmp(l, AUDIT_KEY_MAGIC)) magic = true;
    else if (!strncmp(l, "trial ", 6))
      have_id = lp__unhex(l + 6, k->trial_id, LP__ID_BYTES);
    else if (!strncmp(l, "secret ", 7))
      have_secret = lp__unhex(l + 7, k->secret, LP__SECRET_BYTES);
    else
      s = lp_error_at(err, LP_EPARSE, path, line, NULL, "unexpected line in the audit key file");
  }
  sodium_memzero(text, sizeof text);
  if (!s && (!magic || !have_id || !have_secret))
    s = lp_error_set(err, LP_EPARSE, "%s is not a leopards audit key file (it needs the lines %s, trial and secret)",
                     path, AUDIT_KEY_MAGIC);
  if (!s) s = derive(k, err);
  if (!s && t) {
    uint8_t id[LP__ID_BYTES];
    char rec[80], mine[65];
    if (!(s = stored_trial_id(t, id, err)) && !(s = recorded_check(t, rec, err))) {
      lp__audit_key_check_hex(k, mine);
      if (!lp__audit_key_for_trial(k, id))
        s = lp_error_set(err, LP_EDENIED, "%s is the audit key of another trial", path);
      else if (!rec[0])
        s = lp_error_set(err, LP_ESTATE, "%s: this trial has no audit key installed", t->path);
      else if (strcmp(rec, mine))
        s = lp_error_set(err, LP_EDENIED, "%s is not the audit key installed in %s", path, t->path);
    }
  }
  if (s) {
    lp_audit_key_free(k);
    return s;
  }
  *out = k;
  return LP_OK;
}

void lp_trial_use_audit_key(lp_trial *t, const lp_audit_key *k) { t->audit_key = k; }

lp_status lp_trial_open_audit_key(lp_trial *t, const char *path, lp_error *err) {
  lp_audit_key *k;
  lp_status s = lp_audit_key_load(t, path, &k, err);
  if (s) return s;
  lp_audit_key_free(t->own_audit_key);
  t->own_audit_key = k;
  t->audit_key = k;
  return LP_OK;
}

bool lp_trial_audit_keyed(lp_trial *t) {
  char hex[80];
  if (recorded_check(t, hex, NULL)) return true; /* fail safe */
  return hex[0] != '\0';
}
