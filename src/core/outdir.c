/* Output folders that leopards writes: staged beside their place, swapped in whole, and
 * replaced or removed only when a marker lists every entry in them as ours. */
#define _GNU_SOURCE /* renameat2: swap two folders in one step */
#include <leopards/outdir.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MARK_HEAD "leopards output folder 1"
#define PATH_CAP 4096

typedef struct {
  char type; /* 'f' file, 'd' folder, 't' file that may come and go */
  char *path;
} entry;

typedef struct {
  entry *e;
  size_t n, cap;
} entry_list;

struct lp_outdir {
  char dir[PATH_CAP];
  char staging[PATH_CAP];
  char kind[64];
  entry_list allowed;
};

static void list_clear(entry_list *l) {
  for (size_t i = 0; i < l->n; i++) free(l->e[i].path);
  free(l->e);
  memset(l, 0, sizeof *l);
}

static lp_status list_add(entry_list *l, char type, const char *path, size_t len, lp_error *err) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 32;
    entry *ne = realloc(l->e, cap * sizeof *ne);
    if (!ne) return lp_error_set(err, LP_ENOMEM, "out of memory");
    l->e = ne;
    l->cap = cap;
  }
  char *p = malloc(len + 1);
  if (!p) return lp_error_set(err, LP_ENOMEM, "out of memory");
  memcpy(p, path, len);
  p[len] = '\0';
  l->e[l->n++] = (entry){type, p};
  return LP_OK;
}

static bool list_has(const entry_list *l, char type, const char *path) {
  for (size_t i = 0; i < l->n; i++)
    if (!strcmp(l->e[i].path, path) && (l->e[i].type == type || (type == 'f' && l->e[i].type == 't'))) return true;
  return false;
}

/* The folder's path without trailing slashes. */
static void trim(char *dst, size_t n, const char *dir) {
  size_t len = strlen(dir);
  while (len > 1 && dir[len - 1] == '/') len--;
  snprintf(dst, n, "%.*s", (int)len, dir);
}

/* A path the marker may list: relative, inside the folder (no "..", ".", or empty parts). */
static bool inside(const char *p) {
  if (!*p || *p == '/') return false;
  for (const char *c = p; *c;) {
    const char *e = strchr(c, '/');
    size_t n = e ? (size_t)(e - c) : strlen(c);
    if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) return false;
    c += n + (e ? 1 : 0);
    if (e && !*c) return false;
  }
  return true;
}

/* Read DIR's marker into `l`. LP_ENOTFOUND when there is none, or when it is not one
 * leopards could have written (an entry outside the folder). */
static lp_status read_marker(const char *dir, entry_list *l, lp_error *err) {
  char p[PATH_CAP + 32];
  snprintf(p, sizeof p, "%s/" LP_OUTDIR_MARKER, dir);
  struct stat sb;
  if (lstat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) return LP_ENOTFOUND;
  FILE *f = fopen(p, "r");
  if (!f) return lp_error_set(err, LP_EIO, "%s: cannot read: %s", p, strerror(errno));
  char line[PATH_CAP + 8];
  lp_status s = LP_OK;
  if (!fgets(line, sizeof line, f) || strcmp(line, MARK_HEAD "\n") != 0) s = LP_ENOTFOUND;
  while (!s && fgets(line, sizeof line, f)) {
    size_t len = strlen(line);
    if (len && line[len - 1] == '\n') line[--len] = '\0';
    if (len > 2 && line[1] == '\t' && (line[0] == 'f' || line[0] == 'd' || line[0] == 't')) {
      if (!inside(line + 2)) s = LP_ENOTFOUND;
      else
        s = list_add(l, line[0], line + 2, len - 2, err);
    }
  }
  fclose(f);
  return s;
}

typedef lp_status (*visit_fn)(void *ctx, const char *rel, const struct stat *sb, lp_error *err);

/* Visit every entry under root/rel (not following links), folders before their contents. */
static lp_status walk(const char *root, const char *rel, visit_fn fn, void *ctx, lp_error *err) {
  char p[PATH_CAP];
  snprintf(p, sizeof p, "%s%s%s", root, rel[0] ? "/" : "", rel);
  DIR *d = opendir(p);
  if (!d) return lp_error_set(err, LP_EIO, "%s: cannot read the folder: %s", p, strerror(errno));
  lp_status s = LP_OK;
  for (struct dirent *e; !s && (e = readdir(d));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char r[PATH_CAP], full[PATH_CAP];
    int rl = snprintf(r, sizeof r, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
    snprintf(full, sizeof full, "%s/%s", root, r);
    if (rl < 0 || (size_t)rl >= sizeof r - 1) {
      s = lp_error_set(err, LP_EIO, "%s: path too long", p);
      break;
    }
    struct stat sb;
    if (lstat(full, &sb) != 0) {
      if (errno == ENOENT) continue;
      s = lp_error_set(err, LP_EIO, "%s: %s", full, strerror(errno));
      break;
    }
    s = fn(ctx, r, &sb, err);
    if (!s && S_ISDIR(sb.st_mode)) s = walk(root, r, fn, ctx, err);
  }
  closedir(d);
  return s;
}

typedef struct {
  const char *dir;
  const entry_list *ours;
} check_ctx;

static lp_status visit_check(void *vc, const char *rel, const struct stat *sb, lp_error *err) {
  check_ctx *c = vc;
  if (!strcmp(rel, LP_OUTDIR_MARKER)) return LP_OK;
  char type = S_ISDIR(sb->st_mode) ? 'd' : S_ISREG(sb->st_mode) ? 'f' : '?';
  if (type != '?' && list_has(c->ours, type, rel)) return LP_OK;
  return lp_error_set(err, LP_EDENIED,
                      "%s holds %s, which leopards did not write there: the folder is left as it is "
                      "(choose another output folder, or move that file away)",
                      c->dir, rel);
}

static lp_status visit_any(void *vc, const char *rel, const struct stat *sb, lp_error *err) {
  (void)sb;
  (void)err;
  snprintf(vc, PATH_CAP, "%s", rel);
  return LP_EDENIED; /* stop at the first entry */
}

/* Check `dir` (trimmed); `ours` receives its marker's list; *exists whether it exists. */
static lp_status check_dir(const char *dir, entry_list *ours, bool *exists, lp_error *err) {
  *exists = false;
  struct stat sb;
  if (lstat(dir, &sb) != 0) {
    if (errno == ENOENT) return LP_OK;
    return lp_error_set(err, LP_EIO, "%s: %s", dir, strerror(errno));
  }
  if (S_ISLNK(sb.st_mode))
    return lp_error_set(err, LP_EDENIED,
                        "%s is a symbolic link: an output folder is replaced only when it is "
                        "a real folder that leopards wrote",
                        dir);
  if (!S_ISDIR(sb.st_mode)) return lp_error_set(err, LP_EIO, "%s exists and is not a folder", dir);
  *exists = true;
  lp_status s = read_marker(dir, ours, err);
  if (s == LP_ENOTFOUND) {
    char first[PATH_CAP] = "";
    lp_error tmp;
    s = walk(dir, "", visit_any, first, &tmp);
    if (s == LP_EDENIED && first[0])
      return lp_error_set(err, LP_EDENIED,
                          "%s is not empty and is not an output folder that leopards wrote (it holds %s): the "
                          "folder is left as it is (choose another output folder)",
                          dir, first);
    if (s) {
      *err = tmp;
      return s;
    }
    return LP_OK; /* empty */
  }
  if (s) return s;
  check_ctx c = {dir, ours};
  return walk(dir, "", visit_check, &c, err);
}

lp_status lp_outdir_check(const char *dir, lp_error *err) {
  char d[PATH_CAP];
  trim(d, sizeof d, dir);
  entry_list l = {0};
  bool exists;
  lp_status s = check_dir(d, &l, &exists, err);
  list_clear(&l);
  return s;
}

static int by_depth_desc(const void *a, const void *b) {
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  size_t dx = 0, dy = 0;
  for (; *x; x++) dx += *x == '/';
  for (; *y; y++) dy += *y == '/';
  return dx < dy ? 1 : dx > dy ? -1 : 0;
}

/* Unlink the listed files, then the listed folders deepest first, then the marker and `dir`. */
static lp_status remove_listed(const char *dir, const entry_list *l, lp_error *err) {
  char p[PATH_CAP + 32];
  size_t nd = 0;
  char **dirs = calloc(l->n + 1, sizeof *dirs);
  if (!dirs) return lp_error_set(err, LP_ENOMEM, "out of memory");
  lp_status s = LP_OK;
  for (size_t i = 0; i < l->n; i++) {
    if (l->e[i].type == 'd') {
      dirs[nd++] = l->e[i].path;
      continue;
    }
    snprintf(p, sizeof p, "%s/%s", dir, l->e[i].path);
    if (unlink(p) != 0 && errno != ENOENT && !s)
      s = lp_error_set(err, LP_EIO, "%s: cannot remove: %s", p, strerror(errno));
  }
  qsort(dirs, nd, sizeof *dirs, by_depth_desc);
  for (size_t i = 0; i < nd && !s; i++) {
    snprintf(p, sizeof p, "%s/%s", dir, dirs[i]);
    if (rmdir(p) != 0 && errno != ENOENT) s = lp_error_set(err, LP_EIO, "%s: cannot remove: %s", p, strerror(errno));
  }
  free(dirs);
  snprintf(p, sizeof p, "%s/" LP_OUTDIR_MARKER, dir);
  if (!s && unlink(p) != 0 && errno != ENOENT)
    s = lp_error_set(err, LP_EIO, "%s: cannot remove: %s", p, strerror(errno));
  if (!s && rmdir(dir) != 0) s = lp_error_set(err, LP_EIO, "%s: cannot remove: %s", dir, strerror(errno));
  return s;
}

lp_status lp_outdir_remove(const char *dir, lp_error *err) {
  char d[PATH_CAP];
  trim(d, sizeof d, dir);
  entry_list l = {0};
  bool exists;
  lp_status s = check_dir(d, &l, &exists, err);
  if (!s && exists) s = remove_listed(d, &l, err);
  list_clear(&l);
  return s;
}

lp_status lp_outdir_begin(const char *dir, const char *kind, lp_outdir **out, lp_error *err) {
  *out = NULL;
  lp_outdir *o = calloc(1, sizeof *o);
  if (!o) return lp_error_set(err, LP_ENOMEM, "out of memory");
  trim(o->dir, sizeof o->dir, dir);
  snprintf(o->kind, sizeof o->kind, "%s", kind ? kind : "output");
  const char *base = strrchr(o->dir, '/');
  base = base ? base + 1 : o->dir;
  if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
    free(o);
    return lp_error_set(err, LP_EINVAL, "%s: give the output folder by its name", dir);
  }
  if (strlen(dir) + 20 >= sizeof o->dir) {
    free(o);
    return lp_error_set(err, LP_EINVAL, "%.200s...: path too long", dir);
  }
  entry_list l = {0};
  bool exists;
  lp_status s = check_dir(o->dir, &l, &exists, err);
  list_clear(&l);
  if (s) {
    free(o);
    return s;
  }
  snprintf(o->staging, sizeof o->staging, "%s.partial-XXXXXX", o->dir);
  if (!mkdtemp(o->staging)) {
    s = lp_error_set(err, LP_EIO, "%s: cannot create a folder beside it: %s", o->dir, strerror(errno));
    free(o);
    return s;
  }
  *out = o;
  return LP_OK;
}

const char *lp_outdir_path(const lp_outdir *o) { return o->staging; }

lp_status lp_outdir_allow(lp_outdir *o, const char *relpath, lp_error *err) {
  if (!inside(relpath) || strchr(relpath, '\n') || strchr(relpath, '\t'))
    return lp_error_set(err, LP_EINVAL, "unusable file name for an output folder");
  return list_add(&o->allowed, 't', relpath, strlen(relpath), err);
}

/* The staging folder is new and ours alone: remove it whatever it holds (no links followed). */
static void remove_staging(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    for (struct dirent *e; (e = readdir(d));) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char p[PATH_CAP + 260];
      snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
      struct stat sb;
      if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) remove_staging(p);
      else
        unlink(p);
    }
    closedir(d);
  }
  rmdir(dir);
}

void lp_outdir_abort(lp_outdir *o) {
  if (!o) return;
  remove_staging(o->staging);
  list_clear(&o->allowed);
  free(o);
}

static lp_status visit_list(void *vl, const char *rel, const struct stat *sb, lp_error *err) {
  if (!strcmp(rel, LP_OUTDIR_MARKER)) return LP_OK;
  if (strchr(rel, '\n') || strchr(rel, '\t')) return lp_error_set(err, LP_EIO, "unusable file name '%s'", rel);
  char type = S_ISDIR(sb->st_mode) ? 'd' : S_ISREG(sb->st_mode) ? 'f' : '?';
  if (type == '?') return LP_OK; /* never listed, so never replaced without a word */
  return list_add(vl, type, rel, strlen(rel), err);
}

static lp_status write_marker(lp_outdir *o, lp_error *err) {
  entry_list l = {0};
  lp_status s = walk(o->staging, "", visit_list, &l, err);
  for (size_t i = 0; !s && i < o->allowed.n; i++)
    if (!list_has(&l, 'f', o->allowed.e[i].path))
      s = list_add(&l, 't', o->allowed.e[i].path, strlen(o->allowed.e[i].path), err);
  char p[PATH_CAP + 32];
  snprintf(p, sizeof p, "%s/" LP_OUTDIR_MARKER, o->staging);
  FILE *f = s ? NULL : fopen(p, "w");
  if (!s && !f) s = lp_error_set(err, LP_EIO, "%s: cannot write: %s", p, strerror(errno));
  if (f) {
    fprintf(f,
            MARK_HEAD
            "\n# written by leopards (%s); every entry below is leopards' own, and leopards may\n"
            "# replace this folder only while it holds nothing else\n",
            o->kind);
    for (size_t i = 0; i < l.n; i++) fprintf(f, "%c\t%s\n", l.e[i].type, l.e[i].path);
    bool bad = ferror(f) || fflush(f) || fsync(fileno(f));
    if (fclose(f) || bad) s = lp_error_set(err, LP_EIO, "%s: cannot write: %s", p, strerror(errno));
  }
  list_clear(&l);
  return s;
}

static void sync_parent(const char *dir) {
  char p[PATH_CAP];
  snprintf(p, sizeof p, "%s", dir);
  char *slash = strrchr(p, '/');
  if (slash == p) p[1] = '\0';
  else if (slash)
    *slash = '\0';
  else
    snprintf(p, sizeof p, ".");
  int fd = open(p, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

/* Put staging in the place of an existing `dir`; the old folder ends up at *old. */
static lp_status swap_in(lp_outdir *o, char *old, size_t n, lp_error *err) {
#ifdef RENAME_EXCHANGE
  if (renameat2(AT_FDCWD, o->staging, AT_FDCWD, o->dir, RENAME_EXCHANGE) == 0) {
    snprintf(old, n, "%s", o->staging);
    return LP_OK;
  }
  if (errno != EINVAL && errno != ENOSYS)
    return lp_error_set(err, LP_EIO, "%s: cannot replace: %s", o->dir, strerror(errno));
#endif
  /* Two renames: the old folder goes to a fresh name beside it first. */
  snprintf(old, n, "%s.old-XXXXXX", o->dir);
  if (!mkdtemp(old) || rename(o->dir, old) != 0) {
    int e = errno;
    rmdir(old);
    return lp_error_set(err, LP_EIO, "%s: cannot replace: %s", o->dir, strerror(e));
  }
  if (rename(o->staging, o->dir) != 0) {
    int e = errno;
    rename(old, o->dir);
    return lp_error_set(err, LP_EIO, "%s: cannot replace: %s", o->dir, strerror(e));
  }
  return LP_OK;
}

lp_status lp_outdir_commit(lp_outdir *o, lp_error *err) {
  lp_status s = write_marker(o, err);
  entry_list l = {0};
  bool exists = false;
  if (!s) s = check_dir(o->dir, &l, &exists, err); /* again: the folder may have changed meanwhile */
  list_clear(&l);
  char old[PATH_CAP + 32] = "";
  if (!s && !exists && rename(o->staging, o->dir) != 0)
    s = lp_error_set(err, LP_EIO, "%s: cannot create: %s", o->dir, strerror(errno));
  else if (!s && exists) {
    s = swap_in(o, old, sizeof old, err);
    if (!s && lp_outdir_remove(old, err) != LP_OK)
      s = lp_error_set(err, LP_EDENIED,
                       "%s is written; its earlier contents are kept in %s, which now holds "
                       "files that leopards did not write",
                       o->dir, old);
  }
  if (!s) sync_parent(o->dir);
  if (s && !(exists && old[0] && !strcmp(old, o->staging))) remove_staging(o->staging);
  list_clear(&o->allowed);
  free(o);
  return s;
}
